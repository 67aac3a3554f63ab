// qnpu_pe.sv - one processing element of the weight-stationary array.
//
// Activations move right, partial sums move down, weights are stationary.
// The PE holds the weight in use (w_q) and the next fold's weight (wn_q):
// the array writes the next fold's weights into wn_q one PE row per cycle
// (w_we_i), while the current fold streams past; a swap flag travelling
// with the activations (a_i[8]) copies wn_q into w_q as it passes, between
// the last row of one fold and the first row of the next. Folds follow each
// other without bubbles, and no PE selects between two banks per MAC.
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
  // activations, moving right: {swap weights after this cycle, activation byte}
  input  logic [8:0]       a_i,
  output logic [8:0]       a_o,
  // partial sums, moving down
  input  logic [PsumW-1:0] psum_i,
  output logic [PsumW-1:0] psum_o,
  // next fold's weight
  input  logic             w_we_i,
  input  logic [7:0]       w_i
);

  logic [7:0]       w_q, wn_q;
  logic [8:0]       a_q;
  logic [PsumW-1:0] psum_q;

  // The products are written inside the register update, as whole
  // expressions under one mode test, and each is a 32-bit product truncated
  // to PsumW: Verilator then evaluates a PE in a few machine instructions
  // (docs/simulation.md). Yosys trims the sign-extended operands to an 8x8
  // and two 4x4 signed multipliers (wreduce), and the flow's opt_share
  // (syn/generic.ys) makes the int4 pair and the int8 product share one
  // partial-sum adder.
  always_ff @(posedge clk_i) begin
    a_q <= a_i;
    if (Int4 != 0 && mode4_i)
      psum_q <= psum_i + (PsumW'(32'($signed(w_q[3:0]) * $signed(a_i[3:0]))) +
                          PsumW'(32'($signed(w_q[7:4]) * $signed(a_i[7:4]))));
    else
      psum_q <= psum_i + PsumW'(32'($signed(w_q) * $signed(a_i[7:0])));
    if (a_i[8]) w_q  <= wn_q;
    if (w_we_i) wn_q <= w_i;
  end

  assign a_o    = a_q;
  assign psum_o = psum_q;

endmodule
