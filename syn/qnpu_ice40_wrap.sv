// qnpu_ice40_wrap.sv - puts qnpu_array on an iCE40 package for area and Fmax.
// The array has hundreds of I/O bits and a UP5K has 39 pins, so a serial
// shift register drives every array input and the column sums are captured
// into a shift register read out serially. Every input stays live (nothing
// can be optimised away) and every path is register to register, so
// nextpnr's Fmax is the array's own. A synthesis harness, nothing more.
//
// (The whole qnpu_core does not fit these parts even at 2x2: each column's
// requantization unit has a 32x32 multiplier; docs/area.md.)
module qnpu_ice40_wrap #(
  parameter int Rows = 2,
  parameter int Cols = 2,
  parameter int Int4 = 1
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic sin_i,    // serial stimulus
  input  logic load_i,   // capture the outputs
  output logic sout_o    // serial result
);
  localparam int PsumW = 16 + $clog2(Rows);
  localparam int RowIdxW = $clog2(Rows);
  // mode, a_data, a_swap, w_valid, w_row, w_data
  localparam int InW  = 2 + Rows*8 + 1 + 1 + RowIdxW + Cols*8;
  localparam int OutW = Cols * PsumW;

  logic [InW-1:0] in_q;
  always_ff @(posedge clk_i) in_q <= {in_q[InW-2:0], sin_i};

  logic [Cols*PsumW-1:0] psum;
  qnpu_array #(.Rows(Rows), .Cols(Cols), .PsumW(PsumW), .Int4(Int4)) u_array (
    .clk_i,
    .rst_ni,
    .mode_i     (in_q[1:0] == 2'd3 ? 2'd0 : in_q[1:0]),
    .a_data_i   (in_q[2 +: Rows*8]),
    .a_swap_i   (in_q[2 + Rows*8]),
    .w_valid_i  (in_q[3 + Rows*8]),
    .w_row_i    (in_q[4 + Rows*8 +: RowIdxW]),
    .w_data_i   (in_q[4 + Rows*8 + RowIdxW +: Cols*8]),
    .psum_o     (psum)
  );

  logic [OutW-1:0] out_q;
  always_ff @(posedge clk_i) begin
    if (load_i) out_q <= psum;
    else        out_q <= {1'b0, out_q[OutW-1:1]};
  end
  assign sout_o = out_q[0];
endmodule
