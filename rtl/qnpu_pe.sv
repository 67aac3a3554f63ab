// qnpu_pe.sv - one processing element of the weight-stationary array.
//
// Activations move right, partial sums move down, weights are stationary.
// Three weight registers: a load pipe (w_pipe_q) that shifts down the column
// while the array computes, and two banks; the pipe is copied into a bank on
// w_commit_i, and every activation names the bank it multiplies with, so the
// next fold's weights load while the current fold streams (no bubbles).
//
// mode4_i = 0: one int8 x int8 MAC (W4A8 weights arrive already widened).
// mode4_i = 1: two int4 x int4 MACs, operands packed low nibble = even k,
//              high nibble = odd k (docs/numerics.md, int4 packing).
// No reset: every register here is datapath; control travels elsewhere.
module qnpu_pe #(
  parameter int PsumW = 20,  // partial-sum width: 16 + clog2(Rows) holds a full column
  parameter int Int4  = 1    // 0: int8-only PE (no W4A4 datapath), for area comparisons
) (
  input  logic                    clk_i,
  input  logic                    mode4_i,
  // activations, moving right
  input  logic [7:0]              a_i,
  input  logic                    a_bank_i,
  output logic [7:0]              a_o,
  output logic                    a_bank_o,
  // partial sums, moving down
  input  logic [PsumW-1:0]        psum_i,
  output logic [PsumW-1:0]        psum_o,
  // weight load pipe, moving down
  input  logic                    w_shift_i,
  input  logic [7:0]              w_i,
  output logic [7:0]              w_o,
  input  logic                    w_commit_i,
  input  logic                    w_commit_bank_i
);

  logic [7:0] w_pipe_q, w_bank0_q, w_bank1_q;
  logic [7:0] a_q;
  logic       a_bank_q;
  logic [PsumW-1:0] psum_q;

  // Multiply. The 8x8 multiplier serves int8 and the low int4 pair; a 4x4
  // multiplier serves the high pair in W4A4 mode, and the two int4 products
  // are summed at 9 bits before the partial-sum adder, so W4A4 costs a small
  // adder and a mux rather than a third full-width addend (docs/area.md).
  logic [7:0]         w_sel;
  logic signed [7:0]  mul_w, mul_a;
  logic signed [15:0] prod_lo;
  logic signed [7:0]  prod_hi;
  logic signed [3:0]  w_hi, a_hi;

  logic m4;
  assign m4 = (Int4 != 0) ? mode4_i : 1'b0;

  always_comb begin
    w_sel = a_bank_i ? w_bank1_q : w_bank0_q;
    if (m4) begin
      mul_w = {{4{w_sel[3]}}, w_sel[3:0]};
      mul_a = {{4{a_i[3]}}, a_i[3:0]};
    end else begin
      mul_w = w_sel;
      mul_a = a_i;
    end
    w_hi = m4 ? w_sel[7:4] : 4'sd0;
    a_hi = a_i[7:4];
  end

  assign prod_lo = mul_w * mul_a;
  if (Int4 != 0) begin : gen_int4
    assign prod_hi = w_hi * a_hi;
  end else begin : gen_int8_only
    assign prod_hi = '0;
    logic unused_hi;
    assign unused_hi = ^{w_hi, a_hi, mode4_i};
  end

  // In W4A4 mode both products fit 8 bits, their sum 9; in int8 mode the
  // high product is 0. Add the high product only into the low 9 bits and
  // let the int8 product supply the rest.
  logic [8:0] lo9;
  logic [15:0] prod_sum;
  assign lo9 = {prod_lo[7], prod_lo[7:0]} + {prod_hi[7], prod_hi};
  assign prod_sum = m4 ? {{7{lo9[8]}}, lo9} : prod_lo;
  logic [PsumW-1:0] psum_d;
  assign psum_d = psum_i + {{(PsumW-16){prod_sum[15]}}, prod_sum};

  always_ff @(posedge clk_i) begin
    a_q      <= a_i;
    a_bank_q <= a_bank_i;
    psum_q   <= psum_d;
    if (w_shift_i) w_pipe_q <= w_i;
    if (w_commit_i && !w_commit_bank_i) w_bank0_q <= w_pipe_q;
    if (w_commit_i &&  w_commit_bank_i) w_bank1_q <= w_pipe_q;
  end

  assign a_o      = a_q;
  assign a_bank_o = a_bank_q;
  assign psum_o   = psum_q;
  assign w_o      = w_pipe_q;

endmodule
