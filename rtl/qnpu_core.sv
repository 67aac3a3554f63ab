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
//
// ReqShare = P > 1: one requantization unit serves P columns. A LAST-fold
// row is then stored in the accumulators like any other; once it has
// reached the last column, a drain reads it back one column of each group
// per cycle (P cycles per row, all units in step), adds the bias and
// requantizes it. The accumulator rows are the buffer: a row waiting to be
// drained is pending, and a row presented to a pending accumulator row
// must wait (chk_hold_o), as must every row while the drain queue is
// nearly full. Results then come out in order but later than the fixed
// latency above, and done_o says when a command's results are all
// written (a_end_i marks its final row). An output tile whose K takes P
// or more folds drains while the next tile (in the other half of the
// accumulators, as the runtime allocates them) computes: no throughput is
// lost. docs/architecture.md, "shared requantization".
module qnpu_core #(
  parameter int Rows     = 4,   // PE rows
  parameter int Cols     = 4,   // PE columns
  parameter int AccDepth = 64,  // accumulator rows per column (>= 2)
  parameter int OutRows  = 64,  // output rows a tag can name (>= 2)
  parameter int Int4     = 1,   // 0: int8-only PEs (W4A4 unsupported)
  parameter int ReqF32   = 1,   // 0: Q31 requantization only (no float32 path)
  parameter int ReqShare = 1,   // columns per requantization unit (a power of two dividing Cols)
  parameter int MulPairs = 0,   // PE pairs sharing a qnpu_mul8x2 (FPGA multiplier blocks; Int4 = 0)
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
  input  logic                 a_end_i,     // the command's final row (ReqShare > 1: done_o follows its results)
  // ReqShare > 1: may a row for accumulator row chk_row_i be presented in
  // the next cycle? (Always yes with ReqShare = 1.)
  input  logic [RowW-1:0]      chk_row_i,
  output logic                 chk_hold_o,
  input  logic                 clr_i,       // soft reset: forget pending drains
  output logic                 done_o,      // ReqShare > 1: a command's results are all written
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
  // a decoded parameter record, as qnpu_requant hands it out (bias in the top bits)
  localparam int PrmW  = qnpu_reg_pkg::PrmBiasWidth + qnpu_reg_pkg::PrmM0Width + qnpu_reg_pkg::PrmShiftWidth +
                         qnpu_reg_pkg::PrmZpWidth + qnpu_reg_pkg::PrmActMinWidth + qnpu_reg_pkg::PrmActMaxWidth +
                         qnpu_reg_pkg::PrmFlagsWidth;

  logic [Cols*PsumW-1:0] psum;

  qnpu_array #(.Rows(Rows), .Cols(Cols), .PsumW(PsumW), .Int4(Int4), .MulPairs(MulPairs)) u_array (
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
  localparam int TagW = RowW + OutW + 4;  // {acc row, out row, first, last, pbank, end}

  logic [TagW-1:0] tag_in;
  assign tag_in = {a_acc_row_i, a_out_row_i, a_first_i, a_last_i, a_pbank_i, a_end_i};

  logic [Rows+Cols-2:0] v_q;
  logic [Cols+4:0]      l_q;
  logic [TagW-1:0]      tag_col [Cols];
  logic [Cols-1:0]      vld_col;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      v_q <= '0;
      l_q <= '0;
    end else if (clr_i) begin  // soft reset: rows in flight are dropped
      v_q <= '0;
      l_q <= '0;
    end else begin
      v_q <= {v_q[Rows+Cols-3:0], a_valid_i};
      l_q <= {l_q[Cols+3:0], v_q[Rows-1] & tag_col[0][2] & (ReqShare == 1)};
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
  // Each column's tag one cycle ahead (the synchronous accumulator reads).
  logic [TagW-1:0] tag_pre [Cols];
  if (Rows == 1) begin : gen_pre1
    assign tag_pre[0] = tag_in;
  end else begin : gen_pren
    assign tag_pre[0] = gen_tag_dly[Rows-2].q;
  end
  for (genvar j = 1; j < Cols; j++) begin : gen_tag_col
    logic [TagW-1:0] t_q;
    always_ff @(posedge clk_i) t_q <= tag_col[j-1];
    assign tag_col[j] = t_q;
    assign tag_pre[j] = tag_col[j-1];
  end

  // ---- per column: accumulator and requantization ---------------------------
  logic drain_busy;

  if (ReqShare == 1) begin : gen_direct
    for (genvar j = 0; j < Cols; j++) begin : gen_col
      logic            acc_bank, sat;
      logic [OutW-1:0] acc_row;
      logic [31:0]     acc, bias0, bias1, rd_unused;
      logic [PrmW-1:0] bsel_unused;

      qnpu_accum #(.PsumW(PsumW), .Depth(AccDepth), .OutW(OutW)) u_accum (
        .clk_i,
        .in_valid_i   (vld_col[j]),
        .in_row_i     (tag_col[j][TagW-1 -: RowW]),
        .pre_row_i    ('0),
        .in_out_row_i (tag_col[j][4 +: OutW]),
        .in_first_i   (tag_col[j][3]),
        .in_last_i    (tag_col[j][2]),
        .in_bank_i    (tag_col[j][1]),
        .psum_i       (psum[j*PsumW +: PsumW]),
        .bias0_i      (bias0),
        .bias1_i      (bias1),
        .out_row_o    (acc_row),
        .out_bank_o   (acc_bank),
        .out_acc_o    (acc),
        .rd_row_i     ('0),
        .rd_data_o    (rd_unused)
      );

      qnpu_requant #(.RowW(OutW), .ReqF32(ReqF32)) u_requant (
        .clk_i,
        // A sized cast, not j[...]: Yosys 0.23 mis-reads a bit-select of a genvar.
        .prm_we_i    (prm_we_i && prm_col_i == ($clog2(Cols))'(j)),
        .prm_bank_i,
        .prm_slot_i  (1'b0),
        .prm_rec_i,
        .bias0_o     (bias0),
        .bias1_o     (bias1),
        .bsel_bank_i (1'b0),
        .bsel_slot_i (1'b0),
        .bsel_rec_o  (bsel_unused),
        .vld_i       (l_q[j+3:j]),
        .in_row_i    (acc_row),
        .in_bank_i   (acc_bank),
        .in_slot_i   (1'b0),
        .in_prm_i    ('0),
        .in_acc_i    (acc),
        .out_row_o   (out_row_o[j*OutW +: OutW]),
        .out_data_o  (out_data_o[j*32 +: 32]),
        .out_sat_o   (sat)
      );
      assign out_valid_o[j] = l_q[j+4];
      assign out_sat_o[j]   = sat & l_q[j+4];
      logic unused_col;
      assign unused_col = ^{rd_unused, bsel_unused};
    end
    assign chk_hold_o = 1'b0;
    assign done_o     = 1'b0;
    assign drain_busy = 1'b0;
    logic unused_direct;
    assign unused_direct = ^{chk_row_i, tag_col[Cols-1][0]};
    for (genvar j = 0; j < Cols; j++) begin : gen_pre_unused
      logic unused_pre;
      assign unused_pre = ^tag_pre[j];
    end
  end else begin : gen_shared
    localparam int P     = ReqShare;
    localparam int G     = Cols / P;               // requantization units
    localparam int SlotW = $clog2(P);
    // Drain queue: LAST-fold rows that reached the last column, and markers
    // of commands that end without one. Deep enough for every accumulator
    // row plus the rows in flight when the hold starts.
    localparam int Margin = Rows + Cols + 8;
    localparam int QDepth = 2 ** $clog2(AccDepth + 2 * Margin);
    localparam int QW     = RowW + OutW + 3;       // {acc row, out row, bank, end, has row}

    if (P < 2 || (P & (P - 1)) != 0 || Cols % P != 0) begin : gen_bad_share
      $error("qnpu_core: ReqShare must be a power of two dividing Cols");
    end

    // The accumulators keep LAST-fold rows; the drain reads row dr_row.
    logic [RowW-1:0] dr_row;
    logic [31:0]     rd [Cols];
    for (genvar j = 0; j < Cols; j++) begin : gen_col
      logic [OutW-1:0] ar_unused;
      logic            ab_unused;
      logic [31:0]     aa_unused;
      qnpu_accum #(.PsumW(PsumW), .Depth(AccDepth), .OutW(OutW), .Store(1)) u_accum (
        .clk_i,
        .in_valid_i   (vld_col[j]),
        .in_row_i     (tag_col[j][TagW-1 -: RowW]),
        .pre_row_i    (tag_pre[j][TagW-1 -: RowW]),
        .in_out_row_i (tag_col[j][4 +: OutW]),
        .in_first_i   (tag_col[j][3]),
        .in_last_i    (tag_col[j][2]),
        .in_bank_i    (tag_col[j][1]),
        .psum_i       (psum[j*PsumW +: PsumW]),
        .bias0_i      ('0),
        .bias1_i      ('0),
        .out_row_o    (ar_unused),
        .out_bank_o   (ab_unused),
        .out_acc_o    (aa_unused),
        .rd_row_i     (dr_row),
        .rd_data_o    (rd[j])
      );
      logic unused_acc;
      assign unused_acc = ^{ar_unused, ab_unused, aa_unused};
    end

    // The queue: an entry when a LAST-fold row, or a command's final row,
    // reaches the last column's accumulator.
    logic [TagW-1:0] tl;
    logic            q_push, q_pop, q_empty, q_full;
    logic [QW-1:0]   q_in, q_head;
    logic [$clog2(QDepth+1)-1:0] q_cnt;
    assign tl     = tag_col[Cols-1];
    assign q_push = vld_col[Cols-1] && (tl[2] || tl[0]);
    assign q_in   = {tl[TagW-1 -: RowW], tl[4 +: OutW], tl[1], tl[0], tl[2]};
    qnpu_fifo #(.Width(QW), .Depth(QDepth), .SyncRd(1)) u_dq (
      .clk_i,
      .rst_ni,
      .clr_i,
      .push_i  (q_push),
      .data_i  (q_in),
      .pop_i   (q_pop),
      .data_o  (q_head),
      .empty_o (q_empty),
      .full_o  (q_full),
      .count_o (q_cnt)
    );

    logic [RowW-1:0] h_acc;
    logic [OutW-1:0] h_out;
    logic            h_bank, h_end, h_row;
    assign {h_acc, h_out, h_bank, h_end, h_row} = q_head;

    // The drain: slot s of every group per cycle, P cycles per row; a
    // marker takes one cycle. It reads the accumulators and the parameter
    // store (both synchronously: the data is there in stage D).
    logic [SlotW-1:0] slot_q;
    logic             d_go, d_last;
    assign d_go   = !q_empty;
    assign d_last = !h_row || slot_q == SlotW'(P - 1);
    assign q_pop  = d_go && d_last;
    assign dr_row = h_acc;

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni)              slot_q <= '0;
      else if (clr_i)           slot_q <= '0;
      else if (d_go && h_row)   slot_q <= d_last ? '0 : slot_q + SlotW'(1);
    end

    // Pending accumulator rows: set when a LAST-fold row is presented,
    // cleared when the drain has read the row's last slot.
    logic [AccDepth-1:0] pend_q;
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        pend_q <= '0;
      end else if (clr_i) begin
        pend_q <= '0;
      end else begin
        if (d_go && h_row && d_last) pend_q[h_acc] <= 1'b0;
        if (a_valid_i && a_last_i)   pend_q[a_acc_row_i] <= 1'b1;
      end
    end
    assign chk_hold_o = pend_q[chk_row_i] || (a_valid_i && a_last_i && a_acc_row_i == chk_row_i) ||
                        32'(q_cnt) + 32'(Margin) >= 32'(QDepth);

    // Stage D holds what the drain read (the accumulators and the
    // parameter store read synchronously) and adds the bias; stage E
    // registers the sum and the record for the unit. The valid bits are
    // shared by all units, which work in step: dv_q a row in D, ev_q in E,
    // rv_q[k] in requantization stage k+1; the end flag travels beside
    // them and becomes done_o with the results.
    logic             dv_q, dend_q, dbank_q, ev_q, eend_q, ebank_q;
    logic [SlotW-1:0] dslot_q, eslot_q;
    logic [OutW-1:0]  dout_q, eout_q;
    logic [4:0]       rv_q, re_q;   // the shared units' five stages
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        dv_q   <= 1'b0;
        dend_q <= 1'b0;
        ev_q   <= 1'b0;
        eend_q <= 1'b0;
        rv_q   <= '0;
        re_q   <= '0;
      end else if (clr_i) begin
        dv_q   <= 1'b0;
        dend_q <= 1'b0;
        ev_q   <= 1'b0;
        eend_q <= 1'b0;
        rv_q   <= '0;
        re_q   <= '0;
      end else begin
        dv_q   <= d_go && h_row;
        dend_q <= d_go && h_end && d_last;
        ev_q   <= dv_q;
        eend_q <= dend_q;
        rv_q   <= {rv_q[3:0], ev_q};
        re_q   <= {re_q[3:0], eend_q};
      end
    end
    always_ff @(posedge clk_i) begin
      if (d_go && h_row) begin
        dslot_q <= slot_q;
        dbank_q <= h_bank;
        dout_q  <= h_out;
      end
      if (dv_q) begin
        eslot_q <= dslot_q;
        ebank_q <= dbank_q;
        eout_q  <= dout_q;
      end
    end
    assign done_o     = re_q[4];
    assign drain_busy = !q_empty || dv_q || dend_q || ev_q || eend_q || (|rv_q) || (|re_q);

    logic [G-1:0] sat_g;
    for (genvar g = 0; g < G; g++) begin : gen_unit
      logic [31:0]           acc_q, b0_unused, b1_unused;
      logic [PrmW-1:0]       rec, prm_q;
      logic [SlotW+OutW-1:0] orow;
      logic [31:0]           odata;
      // this group's accumulator of the slot in D
      logic [31:0] rd_g;
      always_comb begin
        rd_g = rd[g*P];
        for (int k = 1; k < P; k++)
          if (dslot_q == SlotW'(k)) rd_g = rd[g*P + k];
      end
      always_ff @(posedge clk_i) begin
        if (dv_q) begin
          acc_q <= rd_g + rec[PrmW-1 -: 32];  // + the record's bias
          prm_q <= rec;
        end
      end

      qnpu_requant #(.RowW(SlotW + OutW), .ReqF32(ReqF32), .Slots(P)) u_requant (
        .clk_i,
        .prm_we_i    (prm_we_i && 32'(prm_col_i) / P == g),
        .prm_bank_i,
        .prm_slot_i  (SlotW'(32'(prm_col_i) % P)),
        .prm_rec_i,
        .bias0_o     (b0_unused),
        .bias1_o     (b1_unused),
        .bsel_bank_i (h_bank),
        .bsel_slot_i (slot_q),
        .bsel_rec_o  (rec),
        .vld_i       ({rv_q[3:0], ev_q}),
        .in_row_i    ({eslot_q, eout_q}),
        .in_bank_i   (ebank_q),
        .in_slot_i   (eslot_q),
        .in_prm_i    (prm_q),
        .in_acc_i    (acc_q),
        .out_row_o   (orow),
        .out_data_o  (odata),
        .out_sat_o   (sat_g[g])
      );
      for (genvar k = 0; k < P; k++) begin : gen_out
        assign out_valid_o[g*P + k]              = rv_q[4] && orow[OutW +: SlotW] == SlotW'(k);
        assign out_sat_o[g*P + k]                = sat_g[g] && out_valid_o[g*P + k];
        assign out_row_o[(g*P + k)*OutW +: OutW] = orow[OutW-1:0];
        assign out_data_o[(g*P + k)*32 +: 32]    = odata;
      end
      logic unused_unit;
      assign unused_unit = ^{b0_unused, b1_unused};
    end
    logic unused_shared;
    assign unused_shared = ^{q_full, l_q, tl[3]};
  end

  assign busy_o = a_valid_i | (|v_q) | (|l_q) | drain_busy;

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
