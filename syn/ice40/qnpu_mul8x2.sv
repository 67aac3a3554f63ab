// qnpu_mul8x2.sv (iCE40) - rtl/qnpu_mul8x2.sv on one SB_MAC16: the DSP's
// dual 8x8 mode, both halves signed, the products straight out
// (combinational, no DSP register): O[31:16] = A[15:8] * B[15:8],
// O[15:0] = A[7:0] * B[7:0]. tools/ice40.sh reads this file instead of the
// portable one for the whole-core runs with MulPairs > 0.
module qnpu_mul8x2 (
  input  logic [7:0]  a0_i,
  input  logic [7:0]  b0_i,
  input  logic [7:0]  a1_i,
  input  logic [7:0]  b1_i,
  output logic [15:0] p0_o,
  output logic [15:0] p1_o
);
  logic [31:0] o;
  SB_MAC16 #(
    .MODE_8x8         (1'b1),
    .A_SIGNED         (1'b1),
    .B_SIGNED         (1'b1),
    .TOPOUTPUT_SELECT (2'b10),  // the upper 8x8 product, unregistered
    .BOTOUTPUT_SELECT (2'b10)   // the lower 8x8 product, unregistered
  ) u_dsp (
    .CLK (1'b0), .CE (1'b0),
    .A ({a1_i, a0_i}), .B ({b1_i, b0_i}), .C (16'd0), .D (16'd0),
    .AHOLD (1'b0), .BHOLD (1'b0), .CHOLD (1'b0), .DHOLD (1'b0),
    .IRSTTOP (1'b0), .IRSTBOT (1'b0), .ORSTTOP (1'b0), .ORSTBOT (1'b0),
    .OLOADTOP (1'b0), .OLOADBOT (1'b0), .ADDSUBTOP (1'b0), .ADDSUBBOT (1'b0),
    .OHOLDTOP (1'b0), .OHOLDBOT (1'b0), .CI (1'b0), .ACCUMCI (1'b0), .SIGNEXTIN (1'b0),
    .O (o), .CO (), .ACCUMCO (), .SIGNEXTOUT ()
  );
  assign p1_o = o[31:16];
  assign p0_o = o[15:0];
endmodule
