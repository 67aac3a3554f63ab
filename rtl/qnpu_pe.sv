// qnpu_pe.sv - one processing element of the weight-stationary array.
//
// Activations move right, partial sums move down, weights are stationary.
// Two weight banks: the array writes the next fold's weights straight into
// the idle bank (one PE row per cycle, w_we_i), while the activations that
// stream past name the bank they multiply with (a_i[8]), so folds follow
// each other without bubbles and without a separate load pipe.
//
// mode4_i = 0: one int8 x int8 MAC (W4A8 weights arrive already widened).
// mode4_i = 1: two int4 x int4 MACs, operands packed low nibble = even k,
//              high nibble = odd k (docs/numerics.md, int4 packing).
// No reset: every register here is datapath; control travels elsewhere.
module qnpu_pe #(
  parameter int PsumW = 20,  // partial-sum width: 16 + clog2(Rows) holds a full column
  parameter int Int4  = 1    // 0: int8-only PE (no W4A4 datapath), for area comparisons
) (
  input  logic             clk_i,
  input  logic             mode4_i,
  // activations, moving right: {weight bank, activation byte}
  input  logic [8:0]       a_i,
  output logic [8:0]       a_o,
  // partial sums, moving down
  input  logic [PsumW-1:0] psum_i,
  output logic [PsumW-1:0] psum_o,
  // weight write into one bank
  input  logic             w_we_i,
  input  logic             w_bank_i,
  input  logic [7:0]       w_i
);

  logic [7:0]       w_bank0_q, w_bank1_q, w;
  logic [8:0]       a_q;
  logic [PsumW-1:0] psum_q;

  assign w = a_i[8] ? w_bank1_q : w_bank0_q;

  // The products are written inside the register update on purpose, as two
  // whole expressions under one mode test, and the bank write as a nested
  // test: Verilator then evaluates the array in a third of the instructions
  // of a combinational product signal (docs/simulation.md). For Yosys the
  // int4 pair is summed first, so the flow's opt_share (syn/generic.ys)
  // makes it one partial-sum adder with a muxed operand; wreduce trims the
  // sign-extended operands to an 8x8 and two 4x4 signed multipliers.
  always_ff @(posedge clk_i) begin
    a_q <= a_i;
    if (Int4 != 0 && mode4_i)
      psum_q <= psum_i + (PsumW'($signed(w[3:0]) * $signed(a_i[3:0])) +
                          PsumW'($signed(w[7:4]) * $signed(a_i[7:4])));
    else
      psum_q <= psum_i + PsumW'($signed(w) * $signed(a_i[7:0]));
    if (w_we_i) begin
      if (w_bank_i) w_bank1_q <= w_i;
      else          w_bank0_q <= w_i;
    end
  end

  assign a_o    = a_q;
  assign psum_o = psum_q;

endmodule
