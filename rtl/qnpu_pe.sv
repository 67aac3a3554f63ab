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
// mode4_i = 1: two int4 x int4 MACs. The activation byte holds the pair
//              low nibble = even k, high nibble = odd k (docs/numerics.md);
//              the array hands the PE the weight byte with its nibbles
//              swapped (high nibble = even k).
//
// What the PE adds to the partial sum (docs/architecture.md, "the PE's
// arithmetic"):
//
//   int8: a * w                 - Base8
//   int4: 16 * (a_lo * w_lo + a_hi * w_hi) - Base4   (w_lo, w_hi: the
//                                                      unswapped nibbles)
//
// modulo 2^PsumW. Base8 = -32512 and Base4 = -32256 are the constants of
// the modified Baugh-Wooley form of a signed product: without them the sum
// is one unsigned array of 64 partial-product bits, with no constant and
// no sign extension per PE. The array starts every column at Rows * Base
// (qnpu_array), so a column's sum is exact. In int4 mode the two products
// are the off-diagonal quadrants of the same 8x8 partial-product array
// (hence the swapped weight nibbles and the factor 16, which fits PsumW:
// |16 * 2 * 64 * Rows| <= 2^(11 + clog2(Rows))); the diagonal quadrants'
// activation bits are gated to 0, and their fixed Baugh-Wooley bits are
// part of Base4. The int4 mode costs 8 AND gates and 8 changed inversions.
//
// The partial-product form is what synthesis reads (SYNTHESIS defined).
// Simulation reads the same function written as whole products in a 32-bit
// context, which Verilator evaluates in a few machine instructions per PE
// (docs/simulation.md); so does synthesis for an FPGA with multiplier
// blocks (QNPU_PE_PRODUCTS defined too: the iCE40 flow's DSP inference).
// `make test-pe` checks both forms against the formula above for every
// weight and activation in both modes; the gate-level test runs the
// synthesized netlist.
//
// ExtMul = 1 (int8 only): the product comes from outside - mul_a_o and
// mul_w_o are its operands, mul_p_i their signed 16-bit product - so that
// qnpu_array can give two PEs one multiplier block of an FPGA
// (qnpu_mul8x2; an iCE40 DSP in its dual 8x8 mode).
// No reset: every register here is datapath; control travels elsewhere.
module qnpu_pe #(
  parameter int PsumW  = 20,  // partial-sum width: 16 + clog2(Rows) holds a full column
  parameter int Int4   = 1,   // 0: int8-only PE (no W4A4 datapath), for area comparisons
  parameter int ExtMul = 0    // 1: the product arrives on mul_p_i (int8 only)
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
  input  logic [7:0]       w_i,
  // ExtMul = 1: this cycle's product, formed outside
  output logic [7:0]       mul_a_o,
  output logic [7:0]       mul_w_o,
  input  logic [15:0]      mul_p_i
);

  logic [7:0]       w_q, wn_q;
  logic [8:0]       a_q;
  logic [PsumW-1:0] psum_q, sum;
  logic             m4;

  assign m4 = Int4 != 0 && mode4_i;

  if (ExtMul != 0 && Int4 != 0) begin : gen_bad_ext
    $error("qnpu_pe: ExtMul needs Int4 = 0 (the external product is int8 x int8)");
  end
  assign mul_a_o = a_i[7:0];
  assign mul_w_o = w_q;

  // Whole products add less the Baugh-Wooley constants (qnpu_array starts
  // each column at Rows times them).
  localparam int Base8 = -32512;

`ifdef SYNTHESIS
`ifndef QNPU_PE_PRODUCTS
`define QNPU_PE_BITS
`endif
`endif
  if (ExtMul != 0) begin : gen_ext
    assign sum = psum_i + PsumW'(32'($signed(mul_p_i)) - Base8);
    logic unused_m4;
    assign unused_m4 = m4;
  end else begin : gen_own
`ifdef QNPU_PE_BITS
  // Partial-product bit (i, j) = activation bit i AND weight bit j, at
  // weight 2^(i+j), inverted where a Baugh-Wooley sign term sits: in int8
  // mode row 7 xor column 7; in int4 mode the same in the diagonal quadrants
  // (whose activation bits are 0, so these are constants) and, in the
  // off-diagonal quadrants, the quadrant's own sign row and column (3 and 7).
  // Weight bits 0-3 meet activation bits 4-7 only in int4 mode, and weight
  // bits 4-7 activation bits 0-3 (the off-diagonal quadrants in both modes).
  logic [7:0] x_wlo, x_whi;  // the activation bits that meet weight bits 0-3, 4-7
  assign x_wlo = {a_i[7:4], a_i[3:0] & {4{!m4}}};
  assign x_whi = {a_i[7:4] & {4{!m4}}, a_i[3:0]};

  always_comb begin
    logic [PsumW-1:0] row;
    logic             lo_i, lo_j, inv;
    // One multi-operand sum: Yosys builds a single carry-save tree and one adder.
    sum = psum_i;
    for (int j = 0; j < 8; j++) begin
      row = '0;
      for (int i = 0; i < 8; i++) begin
        lo_i = i < 4;
        lo_j = j < 4;
        if (m4 && lo_i != lo_j) inv = lo_i ? ((i == 3) != (j == 7)) : ((i == 7) != (j == 3));
        else                    inv = (i == 7) != (j == 7);
        row[i + j] = ((lo_j ? x_wlo[i] : x_whi[i]) & w_q[j]) ^ inv;
      end
      sum = sum + row;
    end
  end
`else
  // Whole products in a 32-bit context (see above).
  localparam int Base4 = -32256;
  always_comb begin
    if (m4)
      sum = psum_i + PsumW'((32'($signed(w_q[7:4]) * $signed(a_i[3:0])) +
                             32'($signed(w_q[3:0]) * $signed(a_i[7:4]))) * 16 - Base4);
    else
      sum = psum_i + PsumW'(32'($signed(w_q) * $signed(a_i[7:0])) - Base8);
  end
`endif
    logic unused_mul;
    assign unused_mul = ^mul_p_i;
  end
`undef QNPU_PE_BITS

  always_ff @(posedge clk_i) begin
    a_q    <= a_i;
    psum_q <= sum;
    if (a_i[8]) w_q  <= wn_q;
    if (w_we_i) wn_q <= w_i;
  end

  assign a_o    = a_q;
  assign psum_o = psum_q;

endmodule
