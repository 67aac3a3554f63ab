// qnpu_ex.sv - the compute engine: executes COMPUTE commands on qnpu_core.
//
// A COMPUTE is F1 x F2 x F3 weight folds. Fold (f1, f2, f3) reads Rows
// weight rows (Rows/2 in W4A8) from W_ROW + g*that (g = its index) and
// streams M = MX x MY activation rows: output row (mx, my) reads activation
// row A_ROW + f1*FS1 + f2*FS2 + f3*FS3 + mx*AS_X + my*AS_Y and accumulates
// into row ACC_ROW + my*MX + mx. The fold shift is how a convolution walks
// its taps over an activation patch held once in the scratchpad; the row
// walk is its stride. Two stages run concurrently (docs/architecture.md):
//  * W writes a fold's weights into the array beside the fold in use, one
//    PE row per cycle (W4A8: one scratchpad row holds two PE rows, low
//    nibble first). It starts a fold once A has started the one before.
//  * A streams a fold's activation rows, each with its tag. It starts a
//    fold two cycles after W started it, with a swap that makes the fold
//    current. Folds, and commands, follow back to back.
// A command completes when its last row's results are in the output
// scratchpad: a fixed delay after A issued that row (no drain).
module qnpu_ex #(
  parameter int Rows     = 4,
  parameter int Cols     = 4,
  parameter int AccDepth = 64,
  parameter int OutRows  = 64,
  parameter int Int4     = 1,     // 0: int8-only PEs
  parameter int ReqF32   = 1,     // 0: Q31 requantization only
  parameter int ReqShare = 1,     // columns per requantization unit (qnpu_core)
  localparam int RowW    = $clog2(AccDepth),
  localparam int OutW    = $clog2(OutRows),
  localparam int RowIdxW = $clog2(Rows)
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                halt_i,
  input  logic                clr_i,        // soft reset
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
  output logic [Cols*OutW-1:0] out_waddr_o,
  output logic [Cols*32-1:0]  out_wdata_o,
  // requantization parameters (from the load engine)
  input  logic                prm_we_i,
  input  logic [$clog2(Cols)-1:0] prm_col_i,
  input  logic                prm_bank_i,
  input  logic [127:0]        prm_rec_i,
  // counters and status
  output logic                mac_row_o,    // an activation row entered the array
  output logic                mode4_o,      // ... in W4A4 (two MACs per PE)
  output logic [$clog2(Cols+1)-1:0] sat_o,  // outputs the clamp changed
  output logic                busy_o,
  output logic                stall_o
);

  // Cycles from A's read of a command's last row to its last result in the
  // output scratchpad: the read, then the core (qnpu_core: Rows + Cols + 4).
  localparam int Done = 1 + Rows + Cols + 4;

  // ---- command fields ------------------------------------------------------------
  typedef struct packed {
    logic [1:0]  mode;
    logic        first, last, pbank;
    logic [15:0] a_row, w_row, acc_row, out_row, mx, my, as_x, as_y, f1;
    logic [7:0]  f2, f3;
    logic [15:0] fs1, fs2, fs3;
  } cmd_t;

  cmd_t c;
  always_comb begin
    c.mode    = cmd_i[qnpu_reg_pkg::CmdModeLsb +: 2];
    c.first   = cmd_i[qnpu_reg_pkg::CmdFirstLsb];
    c.last    = cmd_i[qnpu_reg_pkg::CmdLastLsb];
    c.pbank   = cmd_i[qnpu_reg_pkg::CmdPbankLsb];
    c.a_row   = cmd_i[qnpu_reg_pkg::CmdARowLsb +: 16];
    c.w_row   = cmd_i[qnpu_reg_pkg::CmdWRowLsb +: 16];
    c.acc_row = cmd_i[qnpu_reg_pkg::CmdAccRowLsb +: 16];
    c.out_row = cmd_i[qnpu_reg_pkg::CmdOutRowLsb +: 16];
    c.mx      = cmd_i[qnpu_reg_pkg::CmdMxLsb +: 16];
    c.my      = cmd_i[qnpu_reg_pkg::CmdMyLsb +: 16];
    c.as_x    = cmd_i[qnpu_reg_pkg::CmdAsXLsb +: 16];
    c.as_y    = cmd_i[qnpu_reg_pkg::CmdAsYLsb +: 16];
    c.f1      = cmd_i[qnpu_reg_pkg::CmdF1Lsb +: 16];
    c.f2      = cmd_i[qnpu_reg_pkg::CmdF2Lsb +: 8];
    c.f3      = cmd_i[qnpu_reg_pkg::CmdF3Lsb +: 8];
    c.fs1     = cmd_i[qnpu_reg_pkg::CmdFs1Lsb +: 16];
    c.fs2     = cmd_i[qnpu_reg_pkg::CmdFs2Lsb +: 16];
    c.fs3     = cmd_i[qnpu_reg_pkg::CmdFs3Lsb +: 16];
  end

  // ---- two accepted commands: q[0] is A's, W works on q[w_idx] --------------------
  cmd_t       q0_q, q1_q;       // (two registers: Yosys 0.23 reads no arrays of structs)
  logic [1:0] cnt_q, cnt_d;
  logic [1:0] mode_q;            // the core's mode
  logic       core_busy, accept, a_pop;
  logic       w_busy_q, a_busy_q;

  logic quiet;
  assign quiet       = cnt_q == 0 && !w_busy_q && !core_busy;
  assign cmd_ready_o = cnt_q != 2'd2 && (c.mode == mode_q || quiet) && !halt_i;
  assign accept      = cmd_valid_i && cmd_ready_o;

  always_comb begin
    cnt_d = cnt_q;
    if (accept && !a_pop) cnt_d = cnt_q + 2'd1;
    if (!accept && a_pop) cnt_d = cnt_q - 2'd1;
  end

  cmd_t q0_d, q1_d;
  always_comb begin
    q0_d = q0_q;
    q1_d = q1_q;
    if (a_pop) q0_d = q1_q;
    if (accept) begin
      if (cnt_q == 2'd0 || (cnt_q == 2'd1 && a_pop)) q0_d = c;
      else                                           q1_d = c;
    end
  end
  always_ff @(posedge clk_i) begin
    q0_q <= q0_d;
    q1_q <= q1_d;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cnt_q  <= '0;
      mode_q <= qnpu_reg_pkg::ModeW8A8;
    end else if (halt_i || clr_i) begin
      cnt_q  <= '0;
    end else begin
      cnt_q <= cnt_d;
      if (accept) mode_q <= c.mode;
    end
  end

  // ---- W stage ---------------------------------------------------------------------
  // W reads a fold's PE rows in consecutive cycles: row 0 in the cycle it
  // starts the fold (w_start), rows 1.. after it (w_busy). A fold may start
  // when its command is here, A has started the fold before it (nr_q == 0)
  // or starts it now - the next-fold registers are then free - and W has
  // read the previous fold's last row.
  logic [1:0]         w_idx_q, w_idx_d;   // entry of W's next fold
  logic               w_new_q, w_new_d;   // that fold is its command's first
  logic [15:0]        wf1_q, wf1_d;       // fold counters of W's next fold
  logic [7:0]         wf2_q, wf2_d, wf3_q, wf3_d;
  logic [15:0]        wbase_q, wbase_d;   // its first weight row
  logic [15:0]        wptr_q, wptr_d;     // first weight row of the fold being read
  logic [RowIdxW-1:0] wstep_q, wstep_d;   // PE row to read next
  logic               w_busy_d;
  logic               w_start, ws_q;      // ws_q: W started a fold in the last cycle
  logic               a_start;            // A starts a fold (A stage)
  logic [1:0]         nr_q, nr_d;         // folds W started that A has not started
  cmd_t               wc;

  assign wc = w_idx_q[0] ? q1_q : q0_q;

  logic w_have, w_last;  // W's next fold exists; it is its command's last
  assign w_have  = w_idx_q < cnt_q;
  assign w_last  = w_new_q ? (wc.f1 == 16'd1 && wc.f2 == 8'd1 && wc.f3 == 8'd1)
                           : (wf1_q + 16'd1 == wc.f1 && wf2_q + 8'd1 == wc.f2 && wf3_q + 8'd1 == wc.f3);
  assign w_start = w_have && !w_busy_q && (nr_q == 2'd0 || a_start) && !halt_i;

  logic w4a8;
  logic [15:0] wrows, wfold;  // weight rows per fold; the first row of the fold started now
  assign w4a8  = mode_q == qnpu_reg_pkg::ModeW4A8;
  assign wrows = w4a8 ? 16'(Rows / 2) : 16'(Rows);
  assign wfold = w_new_q ? wc.w_row : wbase_q;

  always_comb begin
    w_idx_d  = w_idx_q;
    w_new_d  = w_new_q;
    {wf1_d, wf2_d, wf3_d} = {wf1_q, wf2_q, wf3_q};
    wbase_d  = wbase_q;
    wptr_d   = wptr_q;
    wstep_d  = wstep_q;
    w_busy_d = w_busy_q;
    if (w_busy_q) begin
      wstep_d = wstep_q + RowIdxW'(1);
      if (wstep_q == RowIdxW'(Rows - 1)) w_busy_d = 1'b0;
    end
    if (w_start) begin
      w_busy_d = 1'b1;
      wstep_d  = RowIdxW'(1);
      wptr_d   = wfold;
      wbase_d  = wfold + wrows;
      if (w_last) begin
        w_idx_d = w_idx_q + 2'd1;
        w_new_d = 1'b1;
      end else begin
        // the fold after this one: (wf1, wf2, wf3) + 1
        w_new_d = 1'b0;
        {wf1_d, wf2_d, wf3_d} = w_new_q ? '0 : {wf1_q, wf2_q, wf3_q};
        if (wf1_d + 16'd1 != wc.f1) begin
          wf1_d = wf1_d + 16'd1;
        end else begin
          wf1_d = '0;
          if (wf2_d + 8'd1 != wc.f2) begin
            wf2_d = wf2_d + 8'd1;
          end else begin
            wf2_d = '0;
            wf3_d = wf3_d + 8'd1;
          end
        end
      end
    end
    if (a_pop && w_idx_d != 2'd0) w_idx_d = w_idx_d - 2'd1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w_busy_q <= 1'b0;
      w_idx_q  <= '0;
      w_new_q  <= 1'b1;
      ws_q     <= 1'b0;
    end else if (halt_i || clr_i) begin
      w_busy_q <= 1'b0;
      w_idx_q  <= '0;
      w_new_q  <= 1'b1;
      ws_q     <= 1'b0;
    end else begin
      w_busy_q <= w_busy_d;
      w_idx_q  <= w_idx_d;
      w_new_q  <= w_new_d;
      ws_q     <= w_start;
    end
  end
  always_ff @(posedge clk_i) begin
    {wf1_q, wf2_q, wf3_q} <= {wf1_d, wf2_d, wf3_d};
    wbase_q <= wbase_d;
    wptr_q  <= wptr_d;
    wstep_q <= wstep_d;
  end

  // Weight reads: PE row k of W8A8/W4A4 is scratchpad row k of the fold; in
  // W4A8 row k/2 holds PE rows k (low nibble) and k+1 (high nibble).
  logic [RowIdxW-1:0] wk;
  assign wk          = w_start ? '0 : wstep_q;
  assign wgt_re_o    = w_start || w_busy_q;
  assign wgt_raddr_o = (w_start ? wfold : wptr_q) + (w4a8 ? 16'(wk) >> 1 : 16'(wk));

  // The row read this cycle reaches the array the next cycle.
  logic               wv_q, whi_q;
  logic [RowIdxW-1:0] wk_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) wv_q <= 1'b0;
    else         wv_q <= wgt_re_o && !halt_i;
  end
  always_ff @(posedge clk_i) begin
    wk_q  <= wk;
    whi_q <= w4a8 && wk[0];
  end
  logic [Cols*8-1:0] w_feed;
  always_comb begin
    w_feed = wgt_rdata_i;
    if (whi_q)
      for (int j = 0; j < Cols; j++) w_feed[j*8 +: 8] = {4'd0, wgt_rdata_i[j*8+4 +: 4]};
  end

  // ---- A stage -----------------------------------------------------------------
  // A may start the fold W started two or more cycles ago (nr_q != 0, and
  // W did not start it in the last cycle, ws_q): its row 0 then reached the
  // array two cycles before the swap, as the array's rules ask. W is at
  // most one fold ahead of A, so nr_q is 0 or 1.
  logic        a_issue, a_last_row, a_busy_d, a_new_q, a_new_d;
  logic [15:0] af1_q, af1_d, p1_q, p1_d, p2_q, p2_d, p3_q, p3_d;   // fold walk
  logic [7:0]  af2_q, af2_d, af3_q, af3_d;
  logic [15:0] x_q, x_d, y_q, y_d, mx_q, mx_d, my_q, my_d;         // row walk
  logic [15:0] accp_q, accp_d, outp_q, outp_d;
  logic        fold_first_q, fold_first_d, fold_last_q, fold_last_d;
  cmd_t        ac;

  assign ac       = q0_q;
  // a_hold: with shared requantization, the next row's accumulator row
  // still waits to be drained (or the drain queue is nearly full).
  logic a_hold;
  assign a_start  = !a_busy_q && nr_q != 0 && !ws_q && !halt_i && !a_hold;
  assign a_issue  = (a_busy_q || a_start) && !a_hold;

  // The fold A starts now (a_start): its base row and whether it is the
  // command's first or last.
  logic [15:0] fb;
  logic        sf_first, sf_last;
  assign fb       = a_new_q ? ac.a_row : p1_q;
  assign sf_first = a_new_q;
  assign sf_last  = a_new_q ? (ac.f1 == 16'd1 && ac.f2 == 8'd1 && ac.f3 == 8'd1)
                            : (af1_q + 16'd1 == ac.f1 && af2_q + 8'd1 == ac.f2 && af3_q + 8'd1 == ac.f3);

  // The row issued this cycle.
  logic [15:0] row_now, ybase, mx_now, my_now, acc_now, out_now;
  logic        first_now, last_now;
  assign row_now   = a_busy_q ? x_q : fb;
  assign ybase     = a_busy_q ? y_q : fb;
  assign mx_now    = a_busy_q ? mx_q : 16'd0;
  assign my_now    = a_busy_q ? my_q : 16'd0;
  assign acc_now   = a_busy_q ? accp_q : ac.acc_row;
  assign out_now   = a_busy_q ? outp_q : ac.out_row;
  assign first_now = a_busy_q ? fold_first_q : sf_first;
  assign last_now  = a_busy_q ? fold_last_q : sf_last;
  assign a_last_row = a_issue && mx_now + 16'd1 == ac.mx && my_now + 16'd1 == ac.my;
  assign a_pop      = a_last_row && last_now;

  always_comb begin
    a_busy_d = a_busy_q;
    a_new_d  = a_new_q;
    {af1_d, af2_d, af3_d} = {af1_q, af2_q, af3_q};
    {p1_d, p2_d, p3_d}    = {p1_q, p2_q, p3_q};
    {x_d, y_d, mx_d, my_d} = {x_q, y_q, mx_q, my_q};
    {accp_d, outp_d}      = {accp_q, outp_q};
    fold_first_d = fold_first_q;
    fold_last_d  = fold_last_q;
    if (a_start) begin
      fold_first_d = sf_first;
      fold_last_d  = sf_last;
      if (a_new_q) begin
        {af1_d, af2_d, af3_d} = '0;
        {p1_d, p2_d, p3_d}    = {ac.a_row, ac.a_row, ac.a_row};
      end
    end
    if (a_issue) begin
      accp_d = acc_now + 16'd1;
      outp_d = out_now + 16'd1;
      if (mx_now + 16'd1 != ac.mx) begin
        mx_d = mx_now + 16'd1;
        my_d = my_now;
        x_d  = row_now + ac.as_x;
        y_d  = ybase;
        a_busy_d = 1'b1;
      end else if (my_now + 16'd1 != ac.my) begin
        mx_d = '0;
        my_d = my_now + 16'd1;
        x_d  = ybase + ac.as_y;
        y_d  = ybase + ac.as_y;
        a_busy_d = 1'b1;
      end else begin
        // the fold's last row: on to the next fold of the command, or the
        // next command
        a_busy_d = 1'b0;
        a_new_d  = last_now;
        if (!last_now) begin
          if ((a_start && a_new_q ? 16'd0 : af1_q) + 16'd1 != ac.f1) begin
            af1_d = (a_start && a_new_q ? 16'd0 : af1_q) + 16'd1;
            p1_d  = (a_start && a_new_q ? ac.a_row : p1_q) + ac.fs1;
          end else begin
            af1_d = '0;
            if ((a_start && a_new_q ? 8'd0 : af2_q) + 8'd1 != ac.f2) begin
              af2_d = (a_start && a_new_q ? 8'd0 : af2_q) + 8'd1;
              p2_d  = (a_start && a_new_q ? ac.a_row : p2_q) + ac.fs2;
              p1_d  = p2_d;
            end else begin
              af2_d = '0;
              af3_d = (a_start && a_new_q ? 8'd0 : af3_q) + 8'd1;
              p3_d  = (a_start && a_new_q ? ac.a_row : p3_q) + ac.fs3;
              p2_d  = p3_d;
              p1_d  = p3_d;
            end
          end
        end
      end
    end
  end

  always_comb begin
    nr_d = nr_q;
    if (w_start && !a_start) nr_d = nr_q + 2'd1;
    if (!w_start && a_start) nr_d = nr_q - 2'd1;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      a_busy_q <= 1'b0;
      a_new_q  <= 1'b1;
      nr_q     <= '0;
    end else if (halt_i || clr_i) begin
      a_busy_q <= 1'b0;
      a_new_q  <= 1'b1;
      nr_q     <= '0;
    end else begin
      a_busy_q <= a_busy_d;
      a_new_q  <= a_new_d;
      nr_q     <= nr_d;
    end
  end
  always_ff @(posedge clk_i) begin
    {af1_q, af2_q, af3_q} <= {af1_d, af2_d, af3_d};
    {p1_q, p2_q, p3_q}    <= {p1_d, p2_d, p3_d};
    {x_q, y_q, mx_q, my_q} <= {x_d, y_d, mx_d, my_d};
    {accp_q, outp_q}      <= {accp_d, outp_d};
    fold_first_q <= fold_first_d;
    fold_last_q  <= fold_last_d;
  end

  assign act_re_o    = a_issue;
  assign act_raddr_o = row_now;

  // The row read this cycle enters the core the next cycle, with its tag.
  logic            av_q, afirst_q, alast_q, apb_q, aend_q;
  logic [RowW-1:0] arow_q;
  logic [OutW-1:0] aout_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) av_q <= 1'b0;
    else         av_q <= act_re_o;
  end
  always_ff @(posedge clk_i) begin
    arow_q   <= RowW'(acc_now);
    aout_q   <= OutW'(out_now);
    afirst_q <= ac.first && first_now;
    alast_q  <= ac.last && last_now;
    apb_q    <= ac.pbank;
    aend_q   <= a_pop;
  end

  // ---- completion: Done cycles after a command's last row was read, or
  // (shared requantization) when the core has written its last results --------
  logic [Done-1:0] dl_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)               dl_q <= '0;
    else if (halt_i || clr_i)  dl_q <= '0;
    else                       dl_q <= {dl_q[Done-2:0], a_pop};
  end
  logic core_done;
  assign done_o = (ReqShare > 1 ? core_done : dl_q[Done-1]) && !halt_i;

  // ---- the core --------------------------------------------------------------------
  logic [Cols-1:0]      o_valid, o_sat;
  logic [Cols*OutW-1:0] o_row;

  qnpu_core #(.Rows(Rows), .Cols(Cols), .AccDepth(AccDepth), .OutRows(OutRows), .Int4(Int4), .ReqF32(ReqF32),
              .ReqShare(ReqShare)) u_core (
    .clk_i,
    .rst_ni,
    .mode_i      (mode_q),
    .a_valid_i   (av_q),
    .a_data_i    (act_rdata_i),
    .a_acc_row_i (arow_q),
    .a_out_row_i (aout_q),
    .a_first_i   (afirst_q),
    .a_last_i    (alast_q),
    .a_pbank_i   (apb_q),
    .a_swap_i    (a_start),  // the row read now is the fold's first
    .a_end_i     (aend_q),
    .chk_row_i   (RowW'(acc_now)),
    .chk_hold_o  (a_hold),
    .clr_i,
    .done_o      (core_done),
    .w_valid_i   (wv_q),
    .w_row_i     (wk_q),
    .w_data_i    (w_feed),
    .prm_we_i,
    .prm_col_i,
    .prm_bank_i,
    .prm_rec_i,
    .out_valid_o (o_valid),
    .out_row_o   (o_row),
    .out_data_o  (out_wdata_o),
    .out_sat_o   (o_sat),
    .busy_o      (core_busy)
  );

  assign out_we_o    = o_valid;
  assign out_waddr_o = o_row;

  always_comb begin
    sat_o = '0;
    for (int j = 0; j < Cols; j++) sat_o += {{($clog2(Cols+1)-1){1'b0}}, o_sat[j]};
  end
  assign mac_row_o = av_q;
  assign mode4_o   = (mode_q == qnpu_reg_pkg::ModeW4A4);
  assign busy_o    = cnt_q != 0 || w_busy_q || (|dl_q) || core_busy;
  assign stall_o   = cnt_q != 0 && !a_issue && !w_busy_q;

  logic unused_ex;
  assign unused_ex = ^{ac.mode, ac.w_row, wc.mode, wc.first, wc.last, wc.pbank, wc.a_row, wc.acc_row,
                       wc.out_row, wc.mx, wc.my, wc.as_x, wc.as_y, wc.fs1, wc.fs2, wc.fs3,
                       acc_now[15:RowW], out_now[15:OutW]};

endmodule
