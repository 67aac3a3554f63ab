// qnpu_array.sv - Rows x Cols weight-stationary systolic array.
//
// Timing (port cycles; docs/architecture.md has the diagram and the rules):
//  * Activation row m presented at cycle t (a_data_i, one byte per array
//    row) reaches PE(i,j) at t+i+j; its column-j dot product leaves psum_o
//    at t+Rows+j (column j is skewed by j cycles).
//  * Weight row k of a fold presented at cycle s (w_row_i = k, one byte per
//    column) is written into the next-fold register of PE(k,j) at the end
//    of cycle s+j.
//  * A swap presented at cycle c (a_swap_i) moves down the same skew as the
//    activations: it makes the next fold current in PE(i,j) at the end of
//    cycle c+i+j. Rows presented up to c use the old fold, rows presented
//    after c the new one. The new fold's row k must be presented at
//    s_k <= c+k-1, and the fold after it at s_k >= c+k. Presenting a fold's
//    rows top first in consecutive cycles, both reduce to
//    c_prev <= s_0 <= c-1: folds stream back to back every max(M, Rows)
//    cycles, with one register of weights per PE beside the one in use.
module qnpu_array #(
  parameter int Rows  = 4,                 // PE rows (the K dimension of a fold)
  parameter int Cols  = 4,                 // PE columns (output channels)
  parameter int PsumW = 16 + $clog2(Rows), // partial-sum width
  parameter int Int4  = 1,                 // 0: int8-only PEs (W4A4 unsupported)
  // PE pairs (row-major: PE(i,2k) and PE(i,2k+1)) that share one
  // qnpu_mul8x2 instead of multiplying on their own (Int4 = 0 only): an
  // FPGA's multiplier blocks serve the first MulPairs pairs.
  parameter int MulPairs = 0,
  localparam int RowIdxW = $clog2(Rows)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic [1:0]            mode_i,       // qnpu_reg_pkg::Mode*; stable while busy
  // activations: one byte per row (a packed int4 pair in W4A4)
  input  logic [Rows*8-1:0]     a_data_i,
  input  logic                  a_swap_i,     // make the next fold current after this cycle
  // the next fold's weights: one PE row per cycle, one byte per column
  input  logic                  w_valid_i,
  input  logic [RowIdxW-1:0]    w_row_i,
  input  logic [Cols*8-1:0]     w_data_i,
  // column sums, column j skewed by j cycles
  output logic [Cols*PsumW-1:0] psum_o
);

  if (Rows < 2 || Cols < 2) begin : gen_bad_size
    $error("qnpu_array: Rows and Cols must be at least 2");
  end
  if (MulPairs < 0 || MulPairs > Rows * (Cols / 2) || (MulPairs > 0 && Int4 != 0)) begin : gen_bad_pairs
    $error("qnpu_array: MulPairs must be in [0, Rows * Cols / 2], with Int4 = 0");
  end

  logic mode4, mode_w4;
  assign mode4   = (mode_i == qnpu_reg_pkg::ModeW4A4);
  assign mode_w4 = (mode_i == qnpu_reg_pkg::ModeW4A8);

  // ---- activation skew: row i delayed by i cycles, {swap, byte} ------------
  // (Chains of single registers rather than arrays: Verilator then copies
  // each stage once a cycle instead of through shadow copies.)
  for (genvar i = 0; i < Rows; i++) begin : gen_askew
    logic [8:0] a;
    if (i == 0) begin : gen_direct
      assign a = {a_swap_i, a_data_i[7:0]};
    end else begin : gen_delay
      for (genvar k = 0; k < i; k++) begin : gen_d
        logic [8:0] q;
        if (k == 0) begin : gen_in
          always_ff @(posedge clk_i) q <= {a_swap_i, a_data_i[i*8 +: 8]};
        end else begin : gen_on
          always_ff @(posedge clk_i) q <= gen_d[k-1].q;
        end
      end
      assign a = gen_d[i-1].q;
    end
  end

  // ---- weight bus: column j delayed by j cycles, then decoded per row -----
  for (genvar j = 0; j < Cols; j++) begin : gen_wskew
    logic [7:0]         data;
    logic [RowIdxW-1:0] row;
    logic               valid;
    if (j == 0) begin : gen_direct
      assign data  = w_data_i[7:0];
      assign row   = w_row_i;
      assign valid = w_valid_i;
    end else begin : gen_delay
      // The row and valid of column j are those of column j-1 one
      // cycle later; column j's own byte goes through a chain of j registers.
      for (genvar k = 0; k < j; k++) begin : gen_d
        logic [7:0] q;
        if (k == 0) begin : gen_in
          always_ff @(posedge clk_i) q <= w_data_i[j*8 +: 8];
        end else begin : gen_on
          always_ff @(posedge clk_i) q <= gen_d[k-1].q;
        end
      end
      logic [RowIdxW-1:0] row_q;
      logic               valid_q;
      always_ff @(posedge clk_i) row_q <= gen_wskew[j-1].row;
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) valid_q <= 1'b0;
        else         valid_q <= gen_wskew[j-1].valid;
      end
      assign data  = gen_d[j-1].q;
      assign row   = row_q;
      assign valid = valid_q;
    end
    // W4A8: the int4 weight in the low nibble is widened to int8 here, so the
    // PEs see an ordinary int8 weight. W4A4: the nibbles swapped (qnpu_pe).
    logic [7:0]      w;
    logic [Rows-1:0] row_we;  // one-hot: the PE row written this cycle
    assign w      = mode_w4 ? {{4{data[3]}}, data[3:0]} : mode4 ? {data[3:0], data[7:4]} : data;
    assign row_we = valid ? Rows'(1) << row : '0;
  end

  // ---- the PE grid ---------------------------------------------------------
  // Each PE adds its product minus a Baugh-Wooley constant (qnpu_pe), so a
  // column starts at Rows times that constant; in int4 mode a column sums 16
  // times the products, and its result is shifted back (exactly: the low 4
  // bits are 0). The constants are qnpu_pe's Base8 and Base4: were they to
  // differ, every result of the RTL tests would be off.
  localparam int PeBase8 = -32512;
  localparam int PeBase4 = -32256;
  logic [PsumW-1:0] col_base;
  assign col_base = mode4 ? PsumW'(Rows * PeBase4) : PsumW'(Rows * PeBase8);

  for (genvar i = 0; i < Rows; i++) begin : gen_row
    logic [Cols*8-1:0]  mul_a, mul_w;  // each PE's product operands
    logic [Cols*16-1:0] mul_p;         // and the products of the shared multipliers
    for (genvar j = 0; j < Cols; j++) begin : gen_col
      logic [8:0]       a_in, a_out;
      logic [PsumW-1:0] ps_in, ps_out;
      localparam int Ext = (i * (Cols / 2) + j / 2 < MulPairs && j / 2 < Cols / 2) ? 1 : 0;
      if (j == 0) begin : gen_left
        assign a_in = gen_askew[i].a;
      end else begin : gen_inner
        assign a_in = gen_row[i].gen_col[j-1].a_out;
      end
      if (i == 0) begin : gen_top
        assign ps_in = col_base;
      end else begin : gen_below
        assign ps_in = gen_row[i-1].gen_col[j].ps_out;
      end
      qnpu_pe #(.PsumW(PsumW), .Int4(Int4), .ExtMul(Ext)) u_pe (
        .clk_i,
        .mode4_i  (mode4),
        .a_i      (a_in),
        .a_o      (a_out),
        .psum_i   (ps_in),
        .psum_o   (ps_out),
        .w_we_i   (gen_wskew[j].row_we[i]),
        .w_i      (gen_wskew[j].w),
        .mul_a_o  (mul_a[j*8 +: 8]),
        .mul_w_o  (mul_w[j*8 +: 8]),
        .mul_p_i  (mul_p[j*16 +: 16])
      );
    end
    // The shared multipliers: PE(i,2k) on the low half, PE(i,2k+1) on the high.
    for (genvar k = 0; k < Cols / 2; k++) begin : gen_pair
      if (i * (Cols / 2) + k < MulPairs) begin : gen_mul
        qnpu_mul8x2 u_mul (
          .a0_i (mul_a[2*k*8 +: 8]),
          .b0_i (mul_w[2*k*8 +: 8]),
          .a1_i (mul_a[(2*k+1)*8 +: 8]),
          .b1_i (mul_w[(2*k+1)*8 +: 8]),
          .p0_o (mul_p[2*k*16 +: 16]),
          .p1_o (mul_p[(2*k+1)*16 +: 16])
        );
      end else begin : gen_none
        assign mul_p[2*k*16 +: 32] = '0;
        logic unused_ops;
        assign unused_ops = ^{mul_a[2*k*8 +: 16], mul_w[2*k*8 +: 16]};
      end
    end
    if (Cols % 2 != 0) begin : gen_odd
      assign mul_p[(Cols-1)*16 +: 16] = '0;
      logic unused_odd;
      assign unused_odd = ^{mul_a[(Cols-1)*8 +: 8], mul_w[(Cols-1)*8 +: 8]};
    end
  end

  for (genvar j = 0; j < Cols; j++) begin : gen_out
    logic [PsumW-1:0] col;
    assign col = gen_row[Rows-1].gen_col[j].ps_out;
    assign psum_o[j*PsumW +: PsumW] = mode4 ? PsumW'($signed(col) >>> 4) : col;
  end

  // The rightmost activations leave the array.
  for (genvar i = 0; i < Rows; i++) begin : gen_edge
    logic unused_a;
    assign unused_a = ^gen_row[i].gen_col[Cols-1].a_out;
  end

endmodule
