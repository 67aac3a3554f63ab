// qnpu_core.sv - the compute core: systolic array, a per-column accumulator
// memory and a per-column requantization unit.
//
// An operation streams activation rows (a_*) through the array against
// stationary weight folds (w_*, written one PE row per cycle beside the fold
// in use; a_swap_i makes them current). Every row carries its own tag -
// accumulator row, output row, first/last fold, parameter bank - so rows
// of different output tiles and commands follow each other with no drain
// between them. Column j's result for a row appears on out_*[j] a fixed
// number of cycles after the row was presented (columns are skewed; each
// carries its output row): the latency of column j is Rows + j + 5 cycles,
// Rows + Cols + 4 for the last column. docs/architecture.md has the timing rules.
module qnpu_core #(
  parameter int Rows     = 4,   // PE rows
  parameter int Cols     = 4,   // PE columns
  parameter int AccDepth = 64,  // accumulator rows per column (>= 2)
  parameter int OutRows  = 64,  // output rows a tag can name (>= 2)
  parameter int Int4     = 1,   // 0: int8-only PEs (W4A4 unsupported)
  parameter int ReqF32   = 1,   // 0: Q31 requantization only (no float32 path)
  localparam int RowW    = $clog2(AccDepth),
  localparam int OutW    = $clog2(OutRows),
  localparam int RowIdxW = $clog2(Rows)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic [1:0]           mode_i,      // qnpu_reg_pkg::Mode*; change only when !busy_o
  // activation rows
  input  logic                 a_valid_i,
  input  logic [Rows*8-1:0]    a_data_i,
  input  logic [RowW-1:0]      a_acc_row_i, // accumulator row
  input  logic [OutW-1:0]      a_out_row_i, // output row (used on the last fold)
  input  logic                 a_first_i,   // first K fold of this output tile
  input  logic                 a_last_i,    // last K fold: add the bias, requantize, emit
  input  logic                 a_pbank_i,   // requantization parameter bank
  input  logic                 a_swap_i,    // rows after this cycle use the next fold (any cycle)
  // the next fold's weight rows
  input  logic                 w_valid_i,
  input  logic [RowIdxW-1:0]   w_row_i,     // PE row written
  input  logic [Cols*8-1:0]    w_data_i,
  // requantization parameters: one column's 16-byte record per cycle
  input  logic                 prm_we_i,
  input  logic [$clog2(Cols)-1:0] prm_col_i,
  input  logic                 prm_bank_i,
  input  logic [127:0]         prm_rec_i,
  // results, per column
  output logic [Cols-1:0]      out_valid_o,
  output logic [Cols*OutW-1:0] out_row_o,
  output logic [Cols*32-1:0]   out_data_o,
  output logic [Cols-1:0]      out_sat_o,
  output logic                 busy_o       // a row is anywhere in the pipeline
);

  if (AccDepth < 2 || OutRows < 2) begin : gen_bad_depth
    $error("qnpu_core: AccDepth and OutRows must be at least 2");
  end

  localparam int PsumW = 16 + $clog2(Rows);

  logic [Cols*PsumW-1:0] psum;

  qnpu_array #(.Rows(Rows), .Cols(Cols), .PsumW(PsumW), .Int4(Int4)) u_array (
    .clk_i,
    .rst_ni,
    .mode_i,
    .a_data_i,
    .a_swap_i,
    .w_valid_i,
    .w_row_i,
    .w_data_i,
    .psum_o    (psum)
  );

  // ---- row tags: Rows cycles down the array, then one column per cycle ----
  // The tag data is datapath (no reset). The valid bits of every column and
  // stage are two shift registers shared by all columns, as column j sees
  // column 0's rows j cycles later: v_q[k] is a_valid_i k+1 cycles ago
  // (column j's accumulator input is v_q[Rows-1+j]), l_q[k] a LAST-fold row
  // at column 0's accumulator k+1 cycles ago (column j's accumulator output
  // is l_q[j], its requantization stages l_q[j+1..j+3], its result
  // l_q[j+4]).
  localparam int TagW = RowW + OutW + 3;  // {acc row, out row, first, last, pbank}

  logic [TagW-1:0] tag_in;
  assign tag_in = {a_acc_row_i, a_out_row_i, a_first_i, a_last_i, a_pbank_i};

  logic [Rows+Cols-2:0] v_q;
  logic [Cols+4:0]      l_q;
  logic [TagW-1:0]      tag_col [Cols];
  logic [Cols-1:0]      vld_col;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v_q <= '0;
      l_q <= '0;
    end else begin
      v_q <= {v_q[Rows+Cols-3:0], a_valid_i};
      l_q <= {l_q[Cols+3:0], v_q[Rows-1] & tag_col[0][1]};
    end
  end
  assign vld_col = v_q[Rows+Cols-2:Rows-1];

  for (genvar k = 0; k < Rows; k++) begin : gen_tag_dly
    logic [TagW-1:0] q;
    if (k == 0) begin : gen_in
      always_ff @(posedge clk_i) q <= tag_in;
    end else begin : gen_on
      always_ff @(posedge clk_i) q <= gen_tag_dly[k-1].q;
    end
  end

  assign tag_col[0] = gen_tag_dly[Rows-1].q;
  for (genvar j = 1; j < Cols; j++) begin : gen_tag_col
    logic [TagW-1:0] t_q;
    always_ff @(posedge clk_i) t_q <= tag_col[j-1];
    assign tag_col[j] = t_q;
  end

  // ---- per column: accumulator and requantization ---------------------------
  for (genvar j = 0; j < Cols; j++) begin : gen_col
    logic            acc_bank, sat;
    logic [OutW-1:0] acc_row;
    logic [31:0]     acc, bias0, bias1;

    qnpu_accum #(.PsumW(PsumW), .Depth(AccDepth), .OutW(OutW)) u_accum (
      .clk_i,
      .in_valid_i   (vld_col[j]),
      .in_row_i     (tag_col[j][TagW-1 -: RowW]),
      .in_out_row_i (tag_col[j][3 +: OutW]),
      .in_first_i   (tag_col[j][2]),
      .in_last_i    (tag_col[j][1]),
      .in_bank_i    (tag_col[j][0]),
      .psum_i       (psum[j*PsumW +: PsumW]),
      .bias0_i      (bias0),
      .bias1_i      (bias1),
      .out_row_o    (acc_row),
      .out_bank_o   (acc_bank),
      .out_acc_o    (acc)
    );

    qnpu_requant #(.RowW(OutW), .ReqF32(ReqF32)) u_requant (
      .clk_i,
      // A sized cast, not j[...]: Yosys 0.23 mis-reads a bit-select of a genvar.
      .prm_we_i    (prm_we_i && prm_col_i == ($clog2(Cols))'(j)),
      .prm_bank_i,
      .prm_rec_i,
      .bias0_o     (bias0),
      .bias1_o     (bias1),
      .vld_i       (l_q[j+3:j]),
      .in_row_i    (acc_row),
      .in_bank_i   (acc_bank),
      .in_acc_i    (acc),
      .out_row_o   (out_row_o[j*OutW +: OutW]),
      .out_data_o  (out_data_o[j*32 +: 32]),
      .out_sat_o   (sat)
    );
    assign out_valid_o[j] = l_q[j+4];
    assign out_sat_o[j]   = sat & l_q[j+4];
  end

  assign busy_o = a_valid_i | (|v_q) | (|l_q);

`ifndef SYNTHESIS
  // The precision mode may only change while nothing is in flight.
  logic [1:0] mode_q;
  always_ff @(posedge clk_i) mode_q <= mode_i;
  property p_mode_stable;
    @(posedge clk_i) disable iff (!rst_ni) (busy_o && $past(busy_o)) |-> (mode_i == mode_q);
  endproperty
  assert property (p_mode_stable) else $error("qnpu_core: mode_i changed while busy");
  assert property (@(posedge clk_i) disable iff (!rst_ni)
                   mode_i == qnpu_reg_pkg::ModeW8A8 || mode_i == qnpu_reg_pkg::ModeW4A8 ||
                   mode_i == qnpu_reg_pkg::ModeW4A4)
    else $error("qnpu_core: illegal mode_i %0d", mode_i);
  assert property (@(posedge clk_i) disable iff (!rst_ni) Int4 != 0 || mode_i != qnpu_reg_pkg::ModeW4A4)
    else $error("qnpu_core: W4A4 on a core built with Int4 = 0");
`endif

endmodule
