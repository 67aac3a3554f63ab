// qnpu_ctrl.sv - command controller.
//
// Commands arrive from the DRAM ring (RING_BASE/SIZE/HEAD, fetched in order,
// several in flight) or from the MMIO push registers, into one dispatch
// FIFO. The dispatcher validates each command (an illegal one halts the
// accelerator with ERR_ILLEGAL_*), runs NOP and FENCE itself and queues the
// rest to the load, compute and store engines. Engines start a command when
// its dependency tokens are there (VTA-style: LOAD<->COMPUTE<->STORE
// counters, POP_*/PUSH_* flags) and give tokens back when it completes.
// The first error halts everything: fetch and dispatch stop, engines drain
// what is in flight and go idle, ERR_STATUS/ERR_INFO say why.
module qnpu_ctrl #(
  parameter int Rows     = 4,
  parameter int Cols     = 4,
  parameter int AccDepth = 64,
  parameter int ActRows  = 1024,
  parameter int WgtRows  = 512,
  parameter int OutRows  = 128,
  parameter int DataW    = 128,
  parameter int FetchQ   = 8,   // dispatch FIFO entries
  parameter int EngQ     = 4    // per-engine queue entries
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  // from the registers
  input  logic          soft_reset_i,
  input  logic          ring_en_i,
  input  logic [31:0]   ring_base_i,
  input  logic [16:0]   ring_size_i,
  input  logic [15:0]   ring_head_i,
  output logic [15:0]   ring_tail_o,
  input  logic [31:0]   watchdog_i,
  input  logic          push_valid_i,
  input  logic [255:0]  push_cmd_i,
  output logic          push_ready_o,
  // command fetch (memory reads)
  output logic          f_req_valid_o,
  input  logic          f_req_ready_i,
  output logic [31:0]   f_req_addr_o,
  input  logic          f_rsp_valid_i,
  output logic          f_rsp_ready_o,
  input  logic [DataW-1:0] f_rsp_rdata_i,
  input  logic          f_rsp_err_i,
  // engines: 0 load, 1 compute, 2 store
  output logic [2:0]    eng_valid_o,
  input  logic [2:0]    eng_ready_i,
  output logic [3*256-1:0] eng_cmd_o,  // engine e's command at [e*256 +: 256]
  input  logic [2:0]    eng_done_i,
  input  logic [2:0]    eng_busy_i,
  input  logic [2:0]    eng_stall_i,
  input  logic          ld_err_i,
  input  logic [31:0]   ld_err_addr_i,
  input  logic          st_err_i,
  input  logic [31:0]   st_err_addr_i,
  output logic          halt_o,
  // status
  output logic          busy_o,
  output logic          halted_o,
  output logic [7:0]    cmdq_level_o,
  output logic [7:0]    err_code_o,
  output logic [3:0]    err_engine_o,
  output logic [31:0]   err_info_o,
  output logic          fence_irq_o,
  output logic [2:0]    dep_wait_o     // engine waits for a token (perf: stall)
);

  localparam int Beats = 256 / DataW;  // memory beats per command
  localparam int BeatW = $clog2(Beats > 1 ? Beats : 2);

  if (DataW > 256 || 256 % DataW != 0) begin : gen_bad_width
    $error("qnpu_ctrl: DataW must divide 256");
  end

  // ---- error latch -------------------------------------------------------------
  logic       halted_q;
  logic [7:0] ecode_q;
  logic [3:0] eeng_q;
  logic [31:0] einfo_q;
  logic        raise;
  logic [7:0]  raise_code;
  logic [3:0]  raise_eng;
  logic [31:0] raise_info;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      halted_q <= 1'b0;
      ecode_q  <= qnpu_reg_pkg::ErrNone;
      eeng_q   <= '0;
      einfo_q  <= '0;
    end else if (soft_reset_i) begin
      halted_q <= 1'b0;
      ecode_q  <= qnpu_reg_pkg::ErrNone;
      eeng_q   <= '0;
      einfo_q  <= '0;
    end else if (raise && !halted_q) begin
      halted_q <= 1'b1;
      ecode_q  <= raise_code;
      eeng_q   <= raise_eng;
      einfo_q  <= raise_info;
    end
  end
  assign halt_o       = halted_q || soft_reset_i;
  assign halted_o     = halted_q;
  assign err_code_o   = ecode_q;
  assign err_engine_o = eeng_q;
  assign err_info_o   = einfo_q;

  // ---- dispatch FIFO ---------------------------------------------------------------
  logic         dq_push, dq_pop, dq_empty, dq_full;
  logic [255:0] dq_in, dq_head;
  logic [$clog2(FetchQ+1)-1:0] dq_count;

  qnpu_fifo #(.Width(256), .Depth(FetchQ)) u_dq (
    .clk_i, .rst_ni, .clr_i(soft_reset_i),
    .push_i(dq_push), .data_i(dq_in), .pop_i(dq_pop),
    .data_o(dq_head), .empty_o(dq_empty), .full_o(dq_full), .count_o(dq_count)
  );

  // ---- ring fetch --------------------------------------------------------------------
  logic [15:0] tail_q, ftail_q;        // consumed, requested
  logic [BeatW-1:0] fbeat_q, rbeat_q;  // beat being requested / received
  logic [$clog2(FetchQ+1)-1:0] fout_q; // commands requested, not yet queued
  logic [255:0] fasm_q;
  logic ring_ok, fetch_more;

  // Ring entries: a power of two in [2, 65536]; head inside the ring.
  assign ring_ok    = ring_size_i >= 17'd2 && ring_size_i <= 17'd65536 &&
                      (ring_size_i & (ring_size_i - 17'd1)) == '0 && {1'b0, ring_head_i} < ring_size_i;
  assign fetch_more = ring_en_i && ring_ok && !halted_q && !soft_reset_i && ftail_q != ring_head_i &&
                      (32'(dq_count) + 32'(fout_q)) < 32'(FetchQ);

  assign f_req_valid_o = fetch_more;
  assign f_req_addr_o  = ring_base_i + 32'({ftail_q, 5'd0}) + 32'({fbeat_q, {$clog2(DataW/8){1'b0}}});

  logic ffire;
  assign ffire = f_req_valid_o && f_req_ready_i;

  logic [15:0] size_mask;
  assign size_mask = ring_size_i[15:0] - 16'd1;

  // MMIO pushes win the FIFO; a fetched command waits a cycle if both come.
  logic f_last_beat, f_push;
  assign f_last_beat  = (rbeat_q == BeatW'(Beats - 1));
  assign f_rsp_ready_o = !(f_last_beat && (push_valid_i || dq_full)) || halted_q;
  logic ftake;
  assign ftake  = f_rsp_valid_i && f_rsp_ready_o;
  assign f_push = ftake && f_last_beat && !halted_q && !f_rsp_err_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      tail_q  <= '0;
      ftail_q <= '0;
      fbeat_q <= '0;
      rbeat_q <= '0;
      fout_q  <= '0;
    end else if (soft_reset_i) begin
      tail_q  <= '0;
      ftail_q <= '0;
      fbeat_q <= '0;
      rbeat_q <= '0;
      fout_q  <= '0;
    end else begin
      if (ffire) begin
        fbeat_q <= fbeat_q + 1'b1;
        if (fbeat_q == BeatW'(Beats - 1)) begin
          fbeat_q <= '0;
          ftail_q <= (ftail_q + 16'd1) & size_mask;
        end
      end
      if (ftake) begin
        rbeat_q <= f_last_beat ? '0 : rbeat_q + 1'b1;
        if (f_last_beat) tail_q <= (tail_q + 16'd1) & size_mask;
      end
      fout_q <= fout_q + {{($clog2(FetchQ+1)-1){1'b0}}, ffire && fbeat_q == BeatW'(Beats - 1)}
                       - {{($clog2(FetchQ+1)-1){1'b0}}, ftake && f_last_beat};
    end
  end
  always_ff @(posedge clk_i) begin
    if (ftake) fasm_q[rbeat_q*DataW +: DataW] <= f_rsp_rdata_i;
  end
  logic [255:0] fcmd;
  always_comb begin
    fcmd = fasm_q;
    fcmd[rbeat_q*DataW +: DataW] = f_rsp_rdata_i;
  end
  assign ring_tail_o = tail_q;

  assign push_ready_o = !dq_full && !halted_q;
  assign dq_push = (push_valid_i && push_ready_o) || (f_push && !dq_full);
  assign dq_in   = (push_valid_i && push_ready_o) ? push_cmd_i : fcmd;

  // ---- dispatcher ----------------------------------------------------------------
  logic [3:0]  op;
  logic [2:0]  tgt;
  logic [1:0]  mode;
  logic        pop_prev, pop_next, push_prev, push_next, last, irq;
  logic [15:0] srow, wrow, len, orow, cnt1, cnt2;
  logic [31:0] daddr, nrows, span;
  assign op        = dq_head[qnpu_reg_pkg::CmdOpcodeLsb +: qnpu_reg_pkg::CmdOpcodeWidth];
  assign tgt       = dq_head[qnpu_reg_pkg::CmdTargetLsb +: qnpu_reg_pkg::CmdTargetWidth];
  assign mode      = dq_head[qnpu_reg_pkg::CmdModeLsb +: qnpu_reg_pkg::CmdModeWidth];
  assign pop_prev  = dq_head[qnpu_reg_pkg::CmdPopPrevLsb];
  assign pop_next  = dq_head[qnpu_reg_pkg::CmdPopNextLsb];
  assign push_prev = dq_head[qnpu_reg_pkg::CmdPushPrevLsb];
  assign push_next = dq_head[qnpu_reg_pkg::CmdPushNextLsb];
  assign last      = dq_head[qnpu_reg_pkg::CmdLastLsb];
  assign irq       = dq_head[qnpu_reg_pkg::CmdIrqLsb];
  assign srow      = dq_head[qnpu_reg_pkg::CmdSpadRowLsb +: qnpu_reg_pkg::CmdSpadRowWidth];
  assign wrow      = dq_head[qnpu_reg_pkg::CmdWgtRowLsb +: qnpu_reg_pkg::CmdWgtRowWidth];
  assign daddr     = dq_head[qnpu_reg_pkg::CmdDramAddrLsb +: qnpu_reg_pkg::CmdDramAddrWidth];
  assign len       = dq_head[qnpu_reg_pkg::CmdLenLsb +: qnpu_reg_pkg::CmdLenWidth];
  assign orow      = dq_head[qnpu_reg_pkg::CmdOutRowLsb +: qnpu_reg_pkg::CmdOutRowWidth];
  assign cnt1      = dq_head[qnpu_reg_pkg::CmdCount1Lsb +: qnpu_reg_pkg::CmdCount1Width];
  assign cnt2      = dq_head[qnpu_reg_pkg::CmdCount2Lsb +: qnpu_reg_pkg::CmdCount2Width];
  assign nrows     = 32'(cnt1) * 32'(cnt2);
  assign span      = 32'(srow) + nrows;

  // Field validation. legal = the command may be queued.
  logic legal_op, legal;
  always_comb begin
    legal_op = 1'b1;
    legal    = 1'b1;
    unique case (op)
      qnpu_reg_pkg::OpNop, qnpu_reg_pkg::OpFence: legal = 1'b1;
      qnpu_reg_pkg::OpLoad: begin
        legal = cnt1 != 0 && cnt2 != 0 && len != 0 && !pop_prev && !push_prev;
        unique case (tgt)
          qnpu_reg_pkg::TgtLoadAct: legal = legal && 32'(len) <= 32'(Rows) && span <= 32'(ActRows);
          qnpu_reg_pkg::TgtLoadWgt: legal = legal && 32'(len) <= 32'(Cols) && span <= 32'(WgtRows);
          qnpu_reg_pkg::TgtLoadPrm0, qnpu_reg_pkg::TgtLoadPrm1:
            legal = legal && 32'(len) == 32'(16 * Cols) && nrows == 32'd1 && daddr[3:0] == 4'd0;
          default: legal = 1'b0;
        endcase
      end
      qnpu_reg_pkg::OpCompute: begin
        legal = mode <= qnpu_pkg::ModeW4A4 && len != 0 && 32'(len) <= 32'(AccDepth) &&
                32'(srow) + 32'(len) <= 32'(ActRows) &&
                32'(wrow) + ((mode == qnpu_pkg::ModeW4A8) ? 32'(Rows / 2) : 32'(Rows)) <= 32'(WgtRows) &&
                (!last || 32'(orow) + 32'(len) <= 32'(OutRows));
      end
      qnpu_reg_pkg::OpStore: begin
        legal = cnt1 != 0 && cnt2 != 0 && len != 0 && !pop_next && !push_next;
        unique case (tgt)
          qnpu_reg_pkg::TgtStoreOut8:  legal = legal && 32'(len) <= 32'(Cols) && span <= 32'(OutRows);
          qnpu_reg_pkg::TgtStoreOut32: legal = legal && 32'(len) <= 32'(4 * Cols) && span <= 32'(OutRows);
          qnpu_reg_pkg::TgtStoreOut4:  legal = legal && 32'(len) <= 32'(Cols / 2) && span <= 32'(OutRows);
          qnpu_reg_pkg::TgtStoreAct:   legal = legal && 32'(len) <= 32'(Rows) && span <= 32'(ActRows);
          qnpu_reg_pkg::TgtStoreWgt:   legal = legal && 32'(len) <= 32'(Cols) && span <= 32'(WgtRows);
          default: legal = 1'b0;
        endcase
      end
      default: begin
        legal_op = 1'b0;
        legal    = 1'b0;
      end
    endcase
  end

  // Engine queues.
  logic [2:0]   eq_push, eq_pop, eq_empty, eq_full;
  logic [255:0] eq_head [3];
  logic [2:0]   which;  // one-hot engine of the head command
  always_comb begin
    which = '0;
    unique case (op)
      qnpu_reg_pkg::OpLoad:    which = 3'b001;
      qnpu_reg_pkg::OpCompute: which = 3'b010;
      qnpu_reg_pkg::OpStore:   which = 3'b100;
      default:                 which = '0;
    endcase
  end

  logic engines_idle;
  assign engines_idle = (&eq_empty) && !(|eng_busy_i);

  logic head_ok;
  assign head_ok = !dq_empty && !halted_q && !soft_reset_i;

  logic [31:0] cmd_index_q;  // commands dispatched since reset (ERR_INFO)
  logic        is_fence;
  assign is_fence = (op == qnpu_reg_pkg::OpFence);

  always_comb begin
    dq_pop  = 1'b0;
    eq_push = '0;
    if (head_ok && legal) begin
      if (which != '0) begin
        if ((which & eq_full) == '0) begin
          eq_push = which;
          dq_pop  = 1'b1;
        end
      end else if (!is_fence || engines_idle) begin
        dq_pop = 1'b1;
      end
    end
  end
  assign fence_irq_o = dq_pop && is_fence && irq;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)           cmd_index_q <= '0;
    else if (soft_reset_i) cmd_index_q <= '0;
    else if (dq_pop)       cmd_index_q <= cmd_index_q + 32'd1;
  end

  for (genvar e = 0; e < 3; e++) begin : gen_eq
    logic [$clog2(EngQ+1)-1:0] cnt;
    qnpu_fifo #(.Width(256), .Depth(EngQ)) u_q (
      .clk_i, .rst_ni, .clr_i(soft_reset_i),
      .push_i(eq_push[e]), .data_i(dq_head), .pop_i(eq_pop[e]),
      .data_o(eq_head[e]), .empty_o(eq_empty[e]), .full_o(eq_full[e]), .count_o(cnt)
    );
    logic unused_cnt;
    assign unused_cnt = ^cnt;
  end

  // ---- dependency tokens ------------------------------------------------------------
  // tok[0] load->compute, tok[1] compute->load, tok[2] compute->store, tok[3] store->compute
  logic [7:0] tok_q [4];
  logic [3:0] tok_take, tok_give;

  logic [2:0] e_pp, e_pn;  // pop_prev / pop_next of each queue head
  logic [2:0] tok_ok;
  always_comb begin
    for (int e = 0; e < 3; e++) begin
      e_pp[e] = eq_head[e][qnpu_reg_pkg::CmdPopPrevLsb];
      e_pn[e] = eq_head[e][qnpu_reg_pkg::CmdPopNextLsb];
    end
    tok_ok[0] = !e_pn[0] || tok_q[1] != '0;
    tok_ok[1] = (!e_pp[1] || tok_q[0] != '0) && (!e_pn[1] || tok_q[3] != '0);
    tok_ok[2] = !e_pp[2] || tok_q[2] != '0;
  end

  for (genvar e = 0; e < 3; e++) begin : gen_start
    assign eng_valid_o[e] = !eq_empty[e] && tok_ok[e] && !halted_q && !soft_reset_i;
    assign eng_cmd_o[e*256 +: 256] = eq_head[e];
    assign eq_pop[e]      = eng_valid_o[e] && eng_ready_i[e];
  end
  assign dep_wait_o = ~eq_empty & ~tok_ok;

  // Push flags of accepted commands, returned on completion in order.
  logic [1:0] pf_head [3];  // {push_prev, push_next}
  logic [2:0] pf_empty;
  for (genvar e = 0; e < 3; e++) begin : gen_pf
    logic pf_full;
    logic [$clog2(5)-1:0] pf_cnt;
    qnpu_fifo #(.Width(2), .Depth(4)) u_pf (
      .clk_i, .rst_ni, .clr_i(soft_reset_i),
      .push_i(eq_pop[e]),
      .data_i({eq_head[e][qnpu_reg_pkg::CmdPushPrevLsb], eq_head[e][qnpu_reg_pkg::CmdPushNextLsb]}),
      .pop_i(eng_done_i[e]),
      .data_o(pf_head[e]), .empty_o(pf_empty[e]), .full_o(pf_full), .count_o(pf_cnt)
    );
    logic unused_pf;
    assign unused_pf = ^{pf_full, pf_cnt};
  end

  logic [2:0] done_ok;
  assign done_ok = eng_done_i & ~pf_empty;
  always_comb begin
    tok_take = '0;
    tok_give = '0;
    // taken at start
    if (eq_pop[0] && e_pn[0]) tok_take[1] = 1'b1;
    if (eq_pop[1] && e_pp[1]) tok_take[0] = 1'b1;
    if (eq_pop[1] && e_pn[1]) tok_take[3] = 1'b1;
    if (eq_pop[2] && e_pp[2]) tok_take[2] = 1'b1;
    // given at completion
    if (done_ok[0] && pf_head[0][0]) tok_give[0] = 1'b1;  // load push_next
    if (done_ok[1] && pf_head[1][1]) tok_give[1] = 1'b1;  // compute push_prev
    if (done_ok[1] && pf_head[1][0]) tok_give[2] = 1'b1;  // compute push_next
    if (done_ok[2] && pf_head[2][1]) tok_give[3] = 1'b1;  // store push_prev
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int t = 0; t < 4; t++) tok_q[t] <= '0;
    end else if (soft_reset_i) begin
      for (int t = 0; t < 4; t++) tok_q[t] <= '0;
    end else begin
      for (int t = 0; t < 4; t++)
        tok_q[t] <= tok_q[t] + {7'd0, tok_give[t]} - {7'd0, tok_take[t]};
    end
  end

  // ---- watchdog ----------------------------------------------------------------------
  logic [31:0] wd_q [3];
  logic [2:0]  wd_fire;
  for (genvar e = 0; e < 3; e++) begin : gen_wd
    logic waiting;
    assign waiting = dep_wait_o[e] || eng_stall_i[e];
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni)                         wd_q[e] <= '0;
      else if (soft_reset_i || !waiting)   wd_q[e] <= '0;
      else if (wd_q[e] != '1)              wd_q[e] <= wd_q[e] + 32'd1;
    end
    assign wd_fire[e] = watchdog_i != '0 && wd_q[e] >= watchdog_i;
  end

  // ---- error sources, in priority order ---------------------------------------------
  always_comb begin
    raise      = 1'b1;
    raise_code = qnpu_reg_pkg::ErrNone;
    raise_eng  = '0;
    raise_info = '0;
    if (ring_en_i && !ring_ok && tail_q != ring_head_i) begin
      raise_code = qnpu_reg_pkg::ErrRing;
      raise_eng  = qnpu_reg_pkg::EngFetch;
      raise_info = {15'd0, ring_size_i};
    end else if (ftake && f_rsp_err_i) begin
      raise_code = qnpu_reg_pkg::ErrDma;
      raise_eng  = qnpu_reg_pkg::EngFetch;
      raise_info = ring_base_i + 32'({tail_q, 5'd0});
    end else if (head_ok && !legal) begin
      raise_code = legal_op ? qnpu_reg_pkg::ErrIllegalField : qnpu_reg_pkg::ErrIllegalOpcode;
      raise_eng  = qnpu_reg_pkg::EngDispatch;
      raise_info = cmd_index_q;
    end else if (ld_err_i) begin
      raise_code = qnpu_reg_pkg::ErrDma;
      raise_eng  = qnpu_reg_pkg::EngLoad;
      raise_info = ld_err_addr_i;
    end else if (st_err_i) begin
      raise_code = qnpu_reg_pkg::ErrDma;
      raise_eng  = qnpu_reg_pkg::EngStore;
      raise_info = st_err_addr_i;
    end else if (|wd_fire) begin
      raise_code = qnpu_reg_pkg::ErrWatchdog;
      raise_eng  = wd_fire[0] ? qnpu_reg_pkg::EngLoad : wd_fire[1] ? qnpu_reg_pkg::EngCompute
                                                     : qnpu_reg_pkg::EngStore;
      raise_info = watchdog_i;
    end else begin
      raise = 1'b0;
    end
  end

  assign busy_o       = !dq_empty || !(&eq_empty) || (|eng_busy_i) || fout_q != '0 ||
                        (ring_en_i && tail_q != ring_head_i && !halted_q);  // bad ring: busy until it halts
  assign cmdq_level_o = 8'(dq_count);

  logic unused_ctrl;
  assign unused_ctrl = ^{dq_head[255:224], daddr[31:4], e_pp[0], e_pn[2]};

endmodule
