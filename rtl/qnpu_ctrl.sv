// qnpu_ctrl.sv - command controller.
//
// Commands arrive from the DRAM ring (RING_BASE/SIZE/HEAD, fetched in order,
// several in flight) or from the MMIO push registers, into one dispatch
// FIFO. The dispatcher checks every field of each command (an illegal one
// halts the accelerator with ERR_ILLEGAL_* and the command's index), runs
// NOP and FENCE itself and queues the rest to the load, compute and store
// engines. The checks that need products (rows of a 3-level walk, the
// furthest activation row of a COMPUTE's walk) run on one multiplier, a
// term per cycle. Engines start a command when its dependency tokens are
// there (VTA-style: LOAD<->COMPUTE<->STORE counters, POP_*/PUSH_* flags)
// and give tokens back when it completes; a counter that would pass 255 is
// ERR_TOKEN. The first error halts everything: fetch and dispatch stop,
// engines drain what is in flight and go idle, ERR_STATUS/ERR_INFO say why.
module qnpu_ctrl #(
  parameter int Rows     = 4,
  parameter int Cols     = 4,
  parameter int AccDepth = 64,
  parameter int ActRows  = 1024,
  parameter int WgtRows  = 512,
  parameter int OutRows  = 128,
  parameter int DataW    = 128,
  parameter int Int4     = 1,   // W4A4 built (MODE checks)
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

  // A push reaches the queue the cycle after its write (qnpu_regs), when a
  // fetched command may just have taken a slot: accept one only with two
  // slots free and none pending.
  assign push_ready_o = 32'(dq_count) + 32'd1 < 32'(FetchQ) && !push_valid_i && !halted_q;
  assign dq_push = push_valid_i || (f_push && !dq_full);
  assign dq_in   = push_valid_i ? push_cmd_i : fcmd;

  // ---- dispatcher: field checks ------------------------------------------------
  logic [3:0]  op;
  logic [2:0]  tgt;
  logic [1:0]  mode;
  logic        pop_prev, pop_next, push_prev, push_next, last, irq;
  logic [15:0] srow, len, cnt1, cnt2, cnt3, mx, my, asx, asy, f1, fs1, fs2, fs3;
  logic [15:0] arow, wrow, accrow, outrow;
  logic [7:0]  f2, f3;
  logic [3:0]  pxl, pxh, pyl, pyh;
  logic [31:0] daddr;
  always_comb begin
    op        = dq_head[qnpu_reg_pkg::CmdOpcodeLsb +: qnpu_reg_pkg::CmdOpcodeWidth];
    tgt       = dq_head[qnpu_reg_pkg::CmdTargetLsb +: qnpu_reg_pkg::CmdTargetWidth];
    mode      = dq_head[qnpu_reg_pkg::CmdModeLsb +: qnpu_reg_pkg::CmdModeWidth];
    pop_prev  = dq_head[qnpu_reg_pkg::CmdPopPrevLsb];
    pop_next  = dq_head[qnpu_reg_pkg::CmdPopNextLsb];
    push_prev = dq_head[qnpu_reg_pkg::CmdPushPrevLsb];
    push_next = dq_head[qnpu_reg_pkg::CmdPushNextLsb];
    last      = dq_head[qnpu_reg_pkg::CmdLastLsb];
    irq       = dq_head[qnpu_reg_pkg::CmdIrqLsb];
    srow      = dq_head[qnpu_reg_pkg::CmdSpadRowLsb +: 16];
    len       = dq_head[qnpu_reg_pkg::CmdLenLsb +: 16];
    daddr     = dq_head[qnpu_reg_pkg::CmdDramAddrLsb +: 32];
    cnt1      = dq_head[qnpu_reg_pkg::CmdCount1Lsb +: 16];
    cnt2      = dq_head[qnpu_reg_pkg::CmdCount2Lsb +: 16];
    cnt3      = dq_head[qnpu_reg_pkg::CmdCount3Lsb +: 16];
    pxl       = dq_head[qnpu_reg_pkg::CmdPadXLoLsb +: 4];
    pxh       = dq_head[qnpu_reg_pkg::CmdPadXHiLsb +: 4];
    pyl       = dq_head[qnpu_reg_pkg::CmdPadYLoLsb +: 4];
    pyh       = dq_head[qnpu_reg_pkg::CmdPadYHiLsb +: 4];
    arow      = dq_head[qnpu_reg_pkg::CmdARowLsb +: 16];
    wrow      = dq_head[qnpu_reg_pkg::CmdWRowLsb +: 16];
    accrow    = dq_head[qnpu_reg_pkg::CmdAccRowLsb +: 16];
    outrow    = dq_head[qnpu_reg_pkg::CmdOutRowLsb +: 16];
    mx        = dq_head[qnpu_reg_pkg::CmdMxLsb +: 16];
    my        = dq_head[qnpu_reg_pkg::CmdMyLsb +: 16];
    asx       = dq_head[qnpu_reg_pkg::CmdAsXLsb +: 16];
    asy       = dq_head[qnpu_reg_pkg::CmdAsYLsb +: 16];
    f1        = dq_head[qnpu_reg_pkg::CmdF1Lsb +: 16];
    f2        = dq_head[qnpu_reg_pkg::CmdF2Lsb +: 8];
    f3        = dq_head[qnpu_reg_pkg::CmdF3Lsb +: 8];
    fs1       = dq_head[qnpu_reg_pkg::CmdFs1Lsb +: 16];
    fs2       = dq_head[qnpu_reg_pkg::CmdFs2Lsb +: 16];
    fs3       = dq_head[qnpu_reg_pkg::CmdFs3Lsb +: 16];
  end

  // The checks that need no product, and the size of the checked memory.
  localparam logic [2:0] Built = (Int4 != 0) ? 3'b111 : 3'b011;  // CONFIG0.PRECISIONS
  logic        legal_op, simple_ok, is_xfer, is_comp;
  logic [31:0] rows_lim, len_lim;
  always_comb begin
    legal_op  = 1'b1;
    simple_ok = 1'b1;
    is_xfer   = 1'b0;
    is_comp   = 1'b0;
    rows_lim  = '0;
    len_lim   = '0;
    unique case (op)
      qnpu_reg_pkg::OpNop, qnpu_reg_pkg::OpFence: ;
      qnpu_reg_pkg::OpLoad: begin
        is_xfer   = tgt == qnpu_reg_pkg::TgtLoadAct || tgt == qnpu_reg_pkg::TgtLoadWgt;
        simple_ok = cnt1 != 0 && cnt2 != 0 && cnt3 != 0 && len != 0 && !pop_prev && !push_prev &&
                    17'(pxl) + 17'(pxh) <= 17'(cnt2) && 17'(pyl) + 17'(pyh) <= 17'(cnt3);
        unique case (tgt)
          qnpu_reg_pkg::TgtLoadAct: begin rows_lim = 32'(ActRows); len_lim = 32'(Rows); end
          qnpu_reg_pkg::TgtLoadWgt: begin rows_lim = 32'(WgtRows); len_lim = 32'(Cols); end
          qnpu_reg_pkg::TgtLoadPrm0, qnpu_reg_pkg::TgtLoadPrm1:
            simple_ok = simple_ok && len[3:0] == 4'd0 && 32'(srow) + 32'(len[15:4]) <= 32'(Cols) &&
                        cnt1 == 16'd1 && cnt2 == 16'd1 && cnt3 == 16'd1 && daddr[3:0] == 4'd0 &&
                        {pxl, pxh, pyl, pyh} == '0;
          default: simple_ok = 1'b0;
        endcase
        if (is_xfer) simple_ok = simple_ok && 32'(len) <= len_lim;
      end
      qnpu_reg_pkg::OpStore: begin
        is_xfer   = 1'b1;
        simple_ok = cnt1 != 0 && cnt2 != 0 && cnt3 != 0 && len != 0 && !pop_next && !push_next &&
                    {pxl, pxh, pyl, pyh} == '0;
        unique case (tgt)
          qnpu_reg_pkg::TgtStoreOut8:  begin rows_lim = 32'(OutRows); len_lim = 32'(Cols);     end
          qnpu_reg_pkg::TgtStoreOut32: begin rows_lim = 32'(OutRows); len_lim = 32'(4 * Cols); end
          qnpu_reg_pkg::TgtStoreOut4:  begin rows_lim = 32'(OutRows); len_lim = 32'(Cols / 2); end
          qnpu_reg_pkg::TgtStoreAct:   begin rows_lim = 32'(ActRows); len_lim = 32'(Rows);     end
          qnpu_reg_pkg::TgtStoreWgt:   begin rows_lim = 32'(WgtRows); len_lim = 32'(Cols);     end
          default: simple_ok = 1'b0;
        endcase
        simple_ok = simple_ok && 32'(len) <= len_lim;
      end
      qnpu_reg_pkg::OpCompute: begin
        is_comp   = 1'b1;
        simple_ok = mode != 2'd3 && Built[mode] && mx != 0 && my != 0 && f1 != 0 && f2 != 0 && f3 != 0;
      end
      default: begin
        legal_op  = 1'b0;
        simple_ok = 1'b0;
      end
    endcase
  end

  // The product terms, one per cycle: transfers n = cnt1*cnt2*cnt3 rows;
  // COMPUTE m = MX*MY rows, w = F1*F2*F3 folds of weight rows, and r, the
  // furthest activation row offset, sum of (count-1)*stride over the walk.
  typedef enum logic [1:0] {ChkIdle, ChkStep, ChkVerdict} chk_e;
  chk_e        chk_q, chk_d;
  logic [3:0]  step_q, step_d;
  logic        sok_q;
  logic [47:0] n_q, n_d, f_q, f_d, r_q, r_d;
  logic [31:0] mul_a;
  logic [15:0] mul_b;
  logic [47:0] prod;
  logic        last_step;
  always_comb begin
    mul_a = '0;
    mul_b = '0;
    unique case (step_q)
      4'd0:    begin mul_a = is_comp ? 32'(mx) : 32'(cnt1); mul_b = is_comp ? my : cnt2; end
      4'd1:    begin mul_a = is_comp ? 32'(f1) : n_q[31:0]; mul_b = is_comp ? 16'(f2) : cnt3; end
      4'd2:    begin mul_a = f_q[31:0]; mul_b = 16'(f3); end
      4'd3:    begin mul_a = f_q[31:0]; mul_b = (mode == qnpu_reg_pkg::ModeW4A8) ? 16'(Rows / 2) : 16'(Rows); end
      4'd4:    begin mul_a = 32'(mx) - 32'd1; mul_b = asx; end
      4'd5:    begin mul_a = 32'(my) - 32'd1; mul_b = asy; end
      4'd6:    begin mul_a = 32'(f1) - 32'd1; mul_b = fs1; end
      4'd7:    begin mul_a = 32'(f2) - 32'd1; mul_b = fs2; end
      default: begin mul_a = 32'(f3) - 32'd1; mul_b = fs3; end
    endcase
    prod      = 48'(mul_a) * 48'(mul_b);
    last_step = is_comp ? step_q == 4'd8 : step_q == 4'd1;
  end

  logic head_ok, chk_legal, verdict;
  assign head_ok = !dq_empty && !halted_q && !soft_reset_i;
  always_comb begin
    chk_d  = chk_q;
    step_d = step_q;
    {n_d, f_d, r_d} = {n_q, f_q, r_q};
    unique case (chk_q)
      ChkIdle: if (head_ok) begin
        step_d = '0;
        chk_d  = (simple_ok && (is_xfer || is_comp)) ? ChkStep : ChkVerdict;
      end
      ChkStep: begin
        step_d = step_q + 4'd1;
        unique case (step_q)
          4'd0:    n_d = prod;                      // transfer rows, or M
          4'd1:    if (is_comp) f_d = prod; else n_d = prod;
          4'd2:    f_d = prod;                      // folds
          4'd3:    f_d = prod;                      // weight rows
          4'd4:    r_d = prod;
          default: r_d = r_q + prod;
        endcase
        if (last_step) chk_d = ChkVerdict;
      end
      default: if (dq_pop || !head_ok) chk_d = ChkIdle;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)           chk_q <= ChkIdle;
    else if (soft_reset_i) chk_q <= ChkIdle;
    else                   chk_q <= chk_d;
  end
  always_ff @(posedge clk_i) begin
    step_q <= step_d;
    {n_q, f_q, r_q} <= {n_d, f_d, r_d};
    if (chk_q == ChkIdle) sok_q <= simple_ok;
  end

  // The verdict on the head command.
  always_comb begin
    chk_legal = sok_q;
    if (is_xfer) chk_legal = sok_q && 48'(srow) + n_q <= 48'(rows_lim);
    if (is_comp) chk_legal = sok_q && 48'(accrow) + n_q <= 48'(AccDepth) &&
                             (!last || 48'(outrow) + n_q <= 48'(OutRows)) &&
                             48'(wrow) + f_q <= 48'(WgtRows) &&
                             48'(arow) + r_q < 48'(ActRows);
  end
  assign verdict = chk_q == ChkVerdict && head_ok;

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

  logic [31:0] cmd_index_q;  // commands dispatched since reset (ERR_INFO)
  logic        is_fence;
  assign is_fence = (op == qnpu_reg_pkg::OpFence);

  always_comb begin
    dq_pop  = 1'b0;
    eq_push = '0;
    if (verdict && chk_legal) begin
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

  // Push flags of accepted commands, returned on completion in order; an
  // engine takes a new command only while there is room to remember them.
  localparam int PfDepth = 8;
  logic [1:0] pf_head [3];  // {push_prev, push_next}
  logic [2:0] pf_empty, pf_full;
  for (genvar e = 0; e < 3; e++) begin : gen_pf
    logic [$clog2(PfDepth+1)-1:0] pf_cnt;
    qnpu_fifo #(.Width(2), .Depth(PfDepth)) u_pf (
      .clk_i, .rst_ni, .clr_i(soft_reset_i),
      .push_i(eq_pop[e]),
      .data_i({eq_head[e][qnpu_reg_pkg::CmdPushPrevLsb], eq_head[e][qnpu_reg_pkg::CmdPushNextLsb]}),
      .pop_i(eng_done_i[e]),
      .data_o(pf_head[e]), .empty_o(pf_empty[e]), .full_o(pf_full[e]), .count_o(pf_cnt)
    );
    logic unused_pf;
    assign unused_pf = ^pf_cnt;
  end

  for (genvar e = 0; e < 3; e++) begin : gen_start
    assign eng_valid_o[e] = !eq_empty[e] && tok_ok[e] && !pf_full[e] && !halted_q && !soft_reset_i;
    assign eng_cmd_o[e*256 +: 256] = eq_head[e];
    assign eq_pop[e]      = eng_valid_o[e] && eng_ready_i[e];
  end
  assign dep_wait_o = ~eq_empty & ~tok_ok;

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

  // A counter at 255 that is given a token and not taken one would wrap.
  logic [3:0] tok_ovf;
  logic [1:0] tok_ovf_idx;
  always_comb begin
    tok_ovf_idx = '0;
    for (int t = 0; t < 4; t++) tok_ovf[t] = tok_q[t] == 8'hff && tok_give[t] && !tok_take[t];
    for (int t = 3; t >= 0; t--) if (tok_ovf[t]) tok_ovf_idx = 2'(t);
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
    end else if (verdict && !chk_legal) begin
      raise_code = legal_op ? qnpu_reg_pkg::ErrIllegalField : qnpu_reg_pkg::ErrIllegalOpcode;
      raise_eng  = qnpu_reg_pkg::EngDispatch;
      raise_info = cmd_index_q;
    end else if (|tok_ovf) begin
      raise_code = qnpu_reg_pkg::ErrToken;
      raise_eng  = qnpu_reg_pkg::EngDispatch;
      raise_info = 32'(tok_ovf_idx);
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

  assign busy_o       = push_valid_i || !dq_empty || !(&eq_empty) || (|eng_busy_i) || fout_q != '0 ||
                        (ring_en_i && tail_q != ring_head_i && !halted_q);  // bad ring: busy until it halts
  assign cmdq_level_o = 8'(dq_count);

  logic unused_ctrl;
  assign unused_ctrl = ^{daddr[31:4], e_pp[0], e_pn[2], n_q[47:32] & 16'(is_comp), f_q[47:40]};

endmodule
