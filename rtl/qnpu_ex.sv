// qnpu_ex.sv - the compute engine: executes COMPUTE commands on qnpu_core.
//
// Two stages run concurrently so that folds follow each other without
// bubbles (docs/architecture.md):
//  * W: reads the fold's weight rows from the weight scratchpad (bottom row
//    first) into the core's load pipe and commits them to the idle bank.
//    W4A8 weights are stored two per byte (even K row in the low nibble);
//    W unpacks them. W runs at most one command ahead of A.
//  * A: reads M activation rows and streams them through the array with
//    their row tags. On the last fold it waits until every result has been
//    written to the output scratchpad (one memory per column, because the
//    columns emit skewed) before the command completes.
module qnpu_ex #(
  parameter int Rows     = 4,
  parameter int Cols     = 4,
  parameter int AccDepth = 64,
  parameter int RowW     = $clog2(AccDepth),
  parameter int Int4     = 1     // 0: int8-only PEs
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                halt_i,
  input  logic                cmd_valid_i,
  output logic                cmd_ready_o,
  input  logic [255:0]        cmd_i,
  output logic                done_o,
  // scratchpad reads (the compute engine has priority on both ports)
  output logic                act_re_o,
  output logic [15:0]         act_raddr_o,
  input  logic [Rows*8-1:0]   act_rdata_i,
  output logic                wgt_re_o,
  output logic [15:0]         wgt_raddr_o,
  input  logic [Cols*8-1:0]   wgt_rdata_i,
  // output scratchpad: one write port per column
  output logic [Cols-1:0]     out_we_o,
  output logic [Cols*16-1:0]  out_waddr_o,
  output logic [Cols*32-1:0]  out_wdata_o,
  // requantization parameters (from the load engine)
  input  logic                prm_we_i,
  input  logic [$clog2(Cols)-1:0] prm_col_i,
  input  logic                prm_bank_i,
  input  logic [2:0]          prm_field_i,
  input  logic [31:0]         prm_wdata_i,
  // counters and status
  output logic                mac_row_o,    // an activation row entered the array
  output logic                mode4_o,      // ... in W4A4 (two MACs per PE)
  output logic [$clog2(Cols+1)-1:0] sat_o,  // outputs the clamp changed
  output logic                busy_o,
  output logic                stall_o
);

  // ---- command fields ------------------------------------------------------------
  typedef struct packed {
    logic [1:0]  mode;
    logic        first, last, pbank;
    logic [15:0] a_row, w_row, m, out_row;
  } fold_t;

  fold_t c;
  assign c.mode    = cmd_i[qnpu_reg_pkg::CmdModeLsb +: qnpu_reg_pkg::CmdModeWidth];
  assign c.first   = cmd_i[qnpu_reg_pkg::CmdFirstLsb];
  assign c.last    = cmd_i[qnpu_reg_pkg::CmdLastLsb];
  assign c.pbank   = cmd_i[qnpu_reg_pkg::CmdPbankLsb];
  assign c.a_row   = cmd_i[qnpu_reg_pkg::CmdSpadRowLsb +: qnpu_reg_pkg::CmdSpadRowWidth];
  assign c.w_row   = cmd_i[qnpu_reg_pkg::CmdWgtRowLsb +: qnpu_reg_pkg::CmdWgtRowWidth];
  assign c.m       = cmd_i[qnpu_reg_pkg::CmdLenLsb +: qnpu_reg_pkg::CmdLenWidth];
  assign c.out_row = cmd_i[qnpu_reg_pkg::CmdOutRowLsb +: qnpu_reg_pkg::CmdOutRowWidth];

  logic [1:0] mode_q;        // the mode the core runs in
  logic       wv_q, wc_q, whi_q;  // weight read issued last cycle: valid, commit, high nibble
  logic       core_busy;

  // ---- W stage -------------------------------------------------------------------
  logic        w_active_q, slot_q, wbank_q;
  fold_t       w_fold_q, slot_fold_q;
  logic        slot_bank_q;
  logic [15:0] w_step_q;
  logic        a_active_q, a_drain_q;

  // A new mode only when nothing is in flight.
  logic quiet, mode_ok, accept;
  assign quiet       = !w_active_q && !wc_q && !slot_q && !a_active_q && !a_drain_q && !core_busy;
  assign mode_ok     = (c.mode == mode_q) || quiet;
  // A commit still on its way to the slot (wc_q) occupies it already.
  assign cmd_ready_o = !w_active_q && !wc_q && !slot_q && mode_ok && !halt_i;
  assign accept      = cmd_valid_i && cmd_ready_o;

  // Weight read for PE row i = Rows-1-step.
  logic [15:0] w_pe_row;
  assign w_pe_row    = 16'(Rows - 1) - w_step_q;
  assign wgt_re_o    = w_active_q && !halt_i;
  assign wgt_raddr_o = w_fold_q.w_row + ((w_fold_q.mode == qnpu_pkg::ModeW4A8) ? (w_pe_row >> 1) : w_pe_row);

  logic       wb_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wv_q <= 1'b0;
      wc_q <= 1'b0;
    end else begin
      wv_q <= wgt_re_o;
      wc_q <= wgt_re_o && w_step_q == 16'(Rows - 1);
    end
  end
  always_ff @(posedge clk_i) begin
    whi_q <= (w_fold_q.mode == qnpu_pkg::ModeW4A8) && w_pe_row[0];
    wb_q  <= wbank_q;
  end

  logic [Cols*8-1:0] w_feed;
  always_comb begin
    w_feed = wgt_rdata_i;
    if (whi_q)
      for (int j = 0; j < Cols; j++) w_feed[j*8 +: 8] = {4'd0, wgt_rdata_i[j*8+4 +: 4]};
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w_active_q <= 1'b0;
      slot_q     <= 1'b0;
      wbank_q    <= 1'b0;
      mode_q     <= qnpu_pkg::ModeW8A8;
    end else if (halt_i) begin
      w_active_q <= 1'b0;
      slot_q     <= 1'b0;
    end else begin
      if (accept) begin
        w_active_q <= 1'b1;
        mode_q     <= c.mode;
      end else if (w_active_q && w_step_q == 16'(Rows - 1)) begin
        w_active_q <= 1'b0;
      end
      // The commit reaches the core the cycle after the last read.
      if (wc_q) begin
        slot_q  <= 1'b1;
        wbank_q <= ~wbank_q;
      end else if (a_take) begin
        slot_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (accept) begin
      w_fold_q <= c;
      w_step_q <= '0;
    end else if (w_active_q) begin
      w_step_q <= w_step_q + 16'd1;
    end
    if (wc_q) begin
      slot_fold_q <= w_fold_q;
      slot_bank_q <= wb_q;
    end
  end

  // ---- A stage -------------------------------------------------------------------
  fold_t       a_fold_q;
  logic        a_bank_q;
  logic [15:0] a_m_q;
  logic        a_take;

  // The slot fills the cycle after the commit reached the core; the first
  // row is read a cycle later and enters the array two cycles after the
  // commit (the rule of docs/architecture.md). A takes the next fold in the
  // cycle it issues the previous fold's last row, so folds follow without a
  // gap (except after a last fold, which drains first).
  logic a_free, a_done_rows;
  assign a_free = (!a_active_q || (a_done_rows && !a_fold_q.last)) && !a_drain_q;
  assign a_take = slot_q && a_free && !halt_i;

  assign act_re_o    = a_active_q && !halt_i;
  assign act_raddr_o = a_fold_q.a_row + a_m_q;

  logic              av_q;
  logic [RowW-1:0]   arow_q;
  logic              afirst_q, alast_q, awb_q, apb_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) av_q <= 1'b0;
    else         av_q <= act_re_o;
  end
  always_ff @(posedge clk_i) begin
    arow_q   <= RowW'(a_m_q);
    afirst_q <= a_fold_q.first;
    alast_q  <= a_fold_q.last;
    awb_q    <= a_bank_q;
    apb_q    <= a_fold_q.pbank;
  end

  assign a_done_rows = a_active_q && a_m_q + 16'd1 == a_fold_q.m;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_active_q <= 1'b0;
      a_drain_q  <= 1'b0;
    end else if (halt_i) begin
      a_active_q <= 1'b0;
      a_drain_q  <= core_busy;
    end else begin
      if (a_take) a_active_q <= 1'b1;
      else if (a_done_rows) a_active_q <= 1'b0;
      if (a_done_rows && a_fold_q.last) a_drain_q <= 1'b1;
      else if (a_drain_q && !core_busy && !av_q) a_drain_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (a_take) begin
      a_fold_q <= slot_fold_q;
      a_bank_q <= slot_bank_q;
      a_m_q    <= '0;
    end else if (a_active_q) begin
      a_m_q <= a_m_q + 16'd1;
    end
  end

  // A command completes when its rows are issued (or, on the last fold,
  // when its results have been written).
  assign done_o = !halt_i && ((a_done_rows && !a_fold_q.last) ||
                              (a_drain_q && !core_busy && !av_q));

  // ---- the core --------------------------------------------------------------------
  logic [Cols-1:0]      o_valid, o_sat;
  logic [Cols*RowW-1:0] o_row;
  logic [Cols*32-1:0]   o_data;

  qnpu_core #(.Rows(Rows), .Cols(Cols), .AccDepth(AccDepth), .RowW(RowW), .Int4(Int4)) u_core (
    .clk_i,
    .rst_ni,
    .mode_i      (mode_q),
    .a_valid_i   (av_q),
    .a_data_i    (act_rdata_i),
    .a_row_i     (arow_q),
    .a_first_i   (afirst_q),
    .a_last_i    (alast_q),
    .a_wbank_i   (awb_q),
    .a_pbank_i   (apb_q),
    .w_valid_i   (wv_q),
    .w_data_i    (w_feed),
    .w_commit_i  (wc_q),
    .w_bank_i    (wb_q),
    .prm_we_i,
    .prm_col_i,
    .prm_bank_i,
    .prm_field_i,
    .prm_wdata_i,
    .out_valid_o (o_valid),
    .out_row_o   (o_row),
    .out_data_o  (o_data),
    .out_sat_o   (o_sat),
    .busy_o      (core_busy)
  );

  for (genvar j = 0; j < Cols; j++) begin : gen_out
    assign out_we_o[j]             = o_valid[j];
    assign out_waddr_o[j*16 +: 16] = a_fold_q.out_row + {{(16-RowW){1'b0}}, o_row[j*RowW +: RowW]};
  end
  assign out_wdata_o = o_data;

  always_comb begin
    sat_o = '0;
    for (int j = 0; j < Cols; j++) sat_o += {{($clog2(Cols+1)-1){1'b0}}, o_sat[j]};
  end
  assign mac_row_o = av_q;
  assign mode4_o   = (mode_q == qnpu_pkg::ModeW4A4);
  assign busy_o    = w_active_q || slot_q || a_active_q || a_drain_q || core_busy;

  logic unused_fold;
  assign unused_fold = ^{a_fold_q.mode, a_fold_q.w_row, slot_fold_q.mode};
  assign stall_o   = busy_o && !av_q && !wv_q;

endmodule
