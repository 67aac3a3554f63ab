// qnpu_mul8x2.sv - two signed 8x8 products: the multiplier block two PEs
// share when qnpu_array's MulPairs > 0. This is the portable description;
// an FPGA flow reads its own in place of it (syn/ice40/qnpu_mul8x2.sv: one
// iCE40 SB_MAC16 in its dual 8x8 mode).
module qnpu_mul8x2 (
  input  logic [7:0]  a0_i,
  input  logic [7:0]  b0_i,
  input  logic [7:0]  a1_i,
  input  logic [7:0]  b1_i,
  output logic [15:0] p0_o,  // a0 * b0, signed
  output logic [15:0] p1_o   // a1 * b1, signed
);
  assign p0_o = 16'($signed(a0_i) * $signed(b0_i));
  assign p1_o = 16'($signed(a1_i) * $signed(b1_i));
endmodule
