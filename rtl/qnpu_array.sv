// qnpu_array.sv - Rows x Cols weight-stationary systolic array.
//
// Timing (port cycles; docs/architecture.md has the diagram):
//  * Activation row m presented at cycle t (a_data_i, one byte per array row)
//    reaches PE(i,j) at t+i+j; its column-j dot product leaves psum_o at
//    t+Rows+j (column j is skewed by j cycles).
//  * A weight fold is Rows bytes per column presented on w_data_i in cycles
//    s..s+Rows-1, bottom row first, with w_commit_i on the last; it lands in
//    bank w_bank_i of column j at the end of cycle s+Rows+j.
//  * Activations using that bank may start at cycle s+Rows+1; a new load
//    into a bank may start one cycle before the last activation using its
//    old contents (s >= t_last-1). With two banks, folds stream back to back
//    every max(M, Rows) cycles.
module qnpu_array #(
  parameter int Rows  = 4,                 // PE rows (the K dimension of a fold)
  parameter int Cols  = 4,                 // PE columns (output channels)
  parameter int PsumW = 16 + $clog2(Rows), // partial-sum width
  parameter int Int4  = 1                  // 0: int8-only PEs (W4A4 unsupported)
) (
  input  logic                  clk_i,
  input  logic                  rst_ni,
  input  logic [1:0]            mode_i,       // qnpu_pkg::Mode*; stable while busy
  // activations: one byte per row (a packed int4 pair in W4A4)
  input  logic [Rows*8-1:0]     a_data_i,
  input  logic                  a_bank_i,     // weight bank these activations use
  // weights: one byte per column, bottom row first
  input  logic                  w_valid_i,
  input  logic [Cols*8-1:0]     w_data_i,
  input  logic                  w_commit_i,   // with the last byte of a fold
  input  logic                  w_bank_i,     // bank the fold is committed to
  // column sums, column j skewed by j cycles
  output logic [Cols*PsumW-1:0] psum_o
);

  if (Rows < 2 || Cols < 2) begin : gen_bad_size
    $error("qnpu_array: Rows and Cols must be at least 2");
  end

  logic mode4;
  assign mode4 = (mode_i == qnpu_pkg::ModeW4A4);

  // ---- activation skew: row i delayed by i cycles -------------------------
  logic [7:0] a_row  [Rows];
  logic       ab_row [Rows];

  for (genvar i = 0; i < Rows; i++) begin : gen_askew
    if (i == 0) begin : gen_direct
      assign a_row[i]  = a_data_i[7:0];
      assign ab_row[i] = a_bank_i;
    end else begin : gen_delay
      logic [7:0] d_q  [i];
      logic       db_q [i];
      always_ff @(posedge clk_i) begin
        d_q[0]  <= a_data_i[i*8 +: 8];
        db_q[0] <= a_bank_i;
        for (int k = 1; k < i; k++) begin
          d_q[k]  <= d_q[k-1];
          db_q[k] <= db_q[k-1];
        end
      end
      assign a_row[i]  = d_q[i-1];
      assign ab_row[i] = db_q[i-1];
    end
  end

  // ---- weight-port skew: column j delayed by j cycles, then unpacked ------
  logic [7:0] w_col   [Cols];
  logic       wv_col  [Cols];
  logic       wc_col  [Cols];
  logic       wb_col  [Cols];
  logic       commit_q  [Cols];  // one cycle after the last shift
  logic       cbank_q   [Cols];

  for (genvar j = 0; j < Cols; j++) begin : gen_wskew
    logic [7:0] raw;
    if (j == 0) begin : gen_direct
      assign raw       = w_data_i[7:0];
      assign wv_col[j] = w_valid_i;
      assign wc_col[j] = w_valid_i & w_commit_i;
      assign wb_col[j] = w_bank_i;
    end else begin : gen_delay
      logic [7:0] d_q  [j];
      logic       v_q  [j];
      logic       c_q  [j];
      logic       b_q  [j];
      always_ff @(posedge clk_i) begin
        d_q[0] <= w_data_i[j*8 +: 8];
        b_q[0] <= w_bank_i;
        for (int k = 1; k < j; k++) begin
          d_q[k] <= d_q[k-1];
          b_q[k] <= b_q[k-1];
        end
      end
      always_ff @(posedge clk_i or negedge rst_ni) begin
        if (!rst_ni) begin
          for (int k = 0; k < j; k++) begin
            v_q[k] <= 1'b0;
            c_q[k] <= 1'b0;
          end
        end else begin
          v_q[0] <= w_valid_i;
          c_q[0] <= w_valid_i & w_commit_i;
          for (int k = 1; k < j; k++) begin
            v_q[k] <= v_q[k-1];
            c_q[k] <= c_q[k-1];
          end
        end
      end
      assign raw       = d_q[j-1];
      assign wv_col[j] = v_q[j-1];
      assign wc_col[j] = c_q[j-1];
      assign wb_col[j] = b_q[j-1];
    end
    // W4A8: the int4 weight in the low nibble is widened to int8 here, so the
    // PEs see an ordinary int8 weight.
    assign w_col[j] = (mode_i == qnpu_pkg::ModeW4A8) ? {{4{raw[3]}}, raw[3:0]} : raw;

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) commit_q[j] <= 1'b0;
      else         commit_q[j] <= wc_col[j];
    end
    always_ff @(posedge clk_i) cbank_q[j] <= wb_col[j];
  end

  // ---- the PE grid -------------------------------------------------------
  logic [7:0]       a_h   [Rows][Cols+1];
  logic             ab_h  [Rows][Cols+1];
  logic [PsumW-1:0] ps_v  [Rows+1][Cols];
  logic [7:0]       w_v   [Rows+1][Cols];

  for (genvar i = 0; i < Rows; i++) begin : gen_row
    assign a_h[i][0]  = a_row[i];
    assign ab_h[i][0] = ab_row[i];
    for (genvar j = 0; j < Cols; j++) begin : gen_col
      if (i == 0) begin : gen_top
        assign ps_v[0][j] = '0;
        assign w_v[0][j]  = w_col[j];
      end
      qnpu_pe #(.PsumW(PsumW), .Int4(Int4)) u_pe (
        .clk_i,
        .mode4_i        (mode4),
        .a_i            (a_h[i][j]),
        .a_bank_i       (ab_h[i][j]),
        .a_o            (a_h[i][j+1]),
        .a_bank_o       (ab_h[i][j+1]),
        .psum_i         (ps_v[i][j]),
        .psum_o         (ps_v[i+1][j]),
        .w_shift_i      (wv_col[j]),
        .w_i            (w_v[i][j]),
        .w_o            (w_v[i+1][j]),
        .w_commit_i     (commit_q[j]),
        .w_commit_bank_i(cbank_q[j])
      );
    end
  end

  for (genvar j = 0; j < Cols; j++) begin : gen_out
    assign psum_o[j*PsumW +: PsumW] = ps_v[Rows][j];
  end

  // The rightmost activations and the bottom weight pipe leave the array.
  logic unused_edges;
  always_comb begin
    unused_edges = 1'b0;
    for (int i = 0; i < Rows; i++) unused_edges ^= ^a_h[i][Cols] ^ ab_h[i][Cols];
    for (int j = 0; j < Cols; j++) unused_edges ^= ^w_v[Rows][j];
  end

endmodule
