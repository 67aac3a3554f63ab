// qnpu_core.sv - the compute core: systolic array, a per-column accumulator
// memory and a per-column requantization unit.
//
// An operation streams activation rows (a_*) through the array against
// stationary weight folds (w_*); each row carries its accumulator row, its
// first/last fold flags and the banks it uses. Column j's results appear on
// out_*[j] Rows+j+6 cycles after the row entered (columns are skewed; each
// carries its row tag). docs/architecture.md has the timing rules.
module qnpu_core #(
  parameter int Rows     = 4,                // PE rows
  parameter int Cols     = 4,                // PE columns
  parameter int AccDepth = 64,               // accumulator rows per column (max M)
  parameter int RowW     = $clog2(AccDepth), // width of a row tag
  parameter int Int4     = 1                 // 0: int8-only PEs (W4A4 unsupported)
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic [1:0]           mode_i,      // qnpu_pkg::Mode*; change only when !busy_o
  // activation rows
  input  logic                 a_valid_i,
  input  logic [Rows*8-1:0]    a_data_i,
  input  logic [RowW-1:0]      a_row_i,     // accumulator row (M index)
  input  logic                 a_first_i,   // first K fold of this output tile
  input  logic                 a_last_i,    // last K fold: requantize and emit
  input  logic                 a_wbank_i,   // weight bank
  input  logic                 a_pbank_i,   // requantization parameter bank
  // weight folds
  input  logic                 w_valid_i,
  input  logic [Cols*8-1:0]    w_data_i,
  input  logic                 w_commit_i,
  input  logic                 w_bank_i,
  // requantization parameters, one column at a time
  input  logic                 prm_we_i,
  input  logic [$clog2(Cols)-1:0] prm_col_i,
  input  logic                 prm_bank_i,
  input  logic [2:0]           prm_field_i,
  input  logic [31:0]          prm_wdata_i,
  // results, per column
  output logic [Cols-1:0]      out_valid_o,
  output logic [Cols*RowW-1:0] out_row_o,
  output logic [Cols*32-1:0]   out_data_o,
  output logic [Cols-1:0]      out_sat_o,
  output logic                 busy_o       // something is in flight
);

  localparam int PsumW = 16 + $clog2(Rows);

  logic [Cols*PsumW-1:0] psum;

  qnpu_array #(.Rows(Rows), .Cols(Cols), .PsumW(PsumW), .Int4(Int4)) u_array (
    .clk_i,
    .rst_ni,
    .mode_i,
    .a_data_i,
    .a_bank_i  (a_wbank_i),
    .w_valid_i,
    .w_data_i,
    .w_commit_i,
    .w_bank_i,
    .psum_o    (psum)
  );

  // ---- row tags: Rows cycles down the array, then one column per cycle ----
  // Only the valid bits are reset; the tag data is datapath.
  localparam int TagW = RowW + 3;  // {row, first, last, pbank}

  logic [TagW-1:0] tag_in;
  assign tag_in = {a_row_i, a_first_i, a_last_i, a_pbank_i};

  logic [TagW-1:0] tag_dly_q [Rows];
  logic [Rows-1:0] vld_dly_q;
  logic [TagW-1:0] tag_col   [Cols];
  logic [Cols-1:0] vld_col;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) vld_dly_q <= '0;
    else         vld_dly_q <= {vld_dly_q[Rows-2:0], a_valid_i};
  end
  always_ff @(posedge clk_i) begin
    tag_dly_q[0] <= tag_in;
    for (int k = 1; k < Rows; k++) tag_dly_q[k] <= tag_dly_q[k-1];
  end

  assign tag_col[0] = tag_dly_q[Rows-1];
  assign vld_col[0] = vld_dly_q[Rows-1];
  for (genvar j = 1; j < Cols; j++) begin : gen_tag_col
    logic [TagW-1:0] t_q;
    logic            v_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) v_q <= 1'b0;
      else         v_q <= vld_col[j-1];
    end
    always_ff @(posedge clk_i) t_q <= tag_col[j-1];
    assign tag_col[j] = t_q;
    assign vld_col[j] = v_q;
  end

  // ---- per column: accumulator and requantization ---------------------------
  logic [Cols-1:0] col_busy;

  for (genvar j = 0; j < Cols; j++) begin : gen_col
    logic            acc_valid, acc_bank, bias_bank;
    logic [RowW-1:0] acc_row;
    logic [31:0]     acc, bias;

    qnpu_accum #(.PsumW(PsumW), .Depth(AccDepth), .RowW(RowW)) u_accum (
      .clk_i,
      .rst_ni,
      .in_valid_i  (vld_col[j]),
      .in_row_i    (tag_col[j][TagW-1:3]),
      .in_first_i  (tag_col[j][2]),
      .in_last_i   (tag_col[j][1]),
      .in_bank_i   (tag_col[j][0]),
      .psum_i      (psum[j*PsumW +: PsumW]),
      .bias_bank_o (bias_bank),
      .bias_i      (bias),
      .out_valid_o (acc_valid),
      .out_row_o   (acc_row),
      .out_bank_o  (acc_bank),
      .out_acc_o   (acc)
    );

    qnpu_requant #(.RowW(RowW)) u_requant (
      .clk_i,
      .rst_ni,
      // A sized cast, not j[...]: Yosys 0.23 mis-reads a bit-select of a genvar.
      .prm_we_i    (prm_we_i && prm_col_i == ($clog2(Cols))'(j)),
      .prm_bank_i,
      .prm_field_i,
      .prm_wdata_i,
      .bias_bank_i (bias_bank),
      .bias_o      (bias),
      .in_valid_i  (acc_valid),
      .in_row_i    (acc_row),
      .in_bank_i   (acc_bank),
      .in_acc_i    (acc),
      .out_valid_o (out_valid_o[j]),
      .out_row_o   (out_row_o[j*RowW +: RowW]),
      .out_data_o  (out_data_o[j*32 +: 32]),
      .out_sat_o   (out_sat_o[j])
    );

    assign col_busy[j] = vld_col[j] | acc_valid;
  end

  // Busy while a row tag or a weight commit is anywhere in the pipeline
  // (the requant stages drain within 4 cycles of the last accumulator).
  logic [3:0] drain_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) drain_q <= '0;
    else         drain_q <= {drain_q[2:0], |col_busy};
  end
  assign busy_o = a_valid_i | (|vld_dly_q) | (|col_busy) | (|drain_q);

`ifndef SYNTHESIS
  // The precision mode may only change while nothing is in flight.
  logic [1:0] mode_q;
  always_ff @(posedge clk_i) mode_q <= mode_i;
  property p_mode_stable;
    @(posedge clk_i) disable iff (!rst_ni) (busy_o && $past(busy_o)) |-> (mode_i == mode_q);
  endproperty
  assert property (p_mode_stable) else $error("qnpu_core: mode_i changed while busy");
  assert property (@(posedge clk_i) disable iff (!rst_ni)
                   mode_i == qnpu_pkg::ModeW8A8 || mode_i == qnpu_pkg::ModeW4A8 ||
                   mode_i == qnpu_pkg::ModeW4A4)
    else $error("qnpu_core: illegal mode_i %0d", mode_i);
  assert property (@(posedge clk_i) disable iff (!rst_ni) Int4 != 0 || mode_i != qnpu_pkg::ModeW4A4)
    else $error("qnpu_core: W4A4 on a core built with Int4 = 0");
`endif

endmodule
