// qnpu_top.sv - the qnpu accelerator: registers, command controller, load /
// compute / store engines, scratchpads and the memory-port arbiter.
//
//   MMIO ──▶ qnpu_regs ──▶ qnpu_ctrl ──▶ qnpu_ld ──▶ act / wgt spads ──▶ qnpu_ex (qnpu_core)
//                             │            │  params ───────────────────────▲      │
//                             │ fetch      │                                        ▼
//   memory port ◀── qnpu_mem_arb ◀─────────┴────────────── qnpu_st ◀── out spad (per column)
// Every parameter's default is the build default of regs/qnpu.json.
module qnpu_top #(
  parameter int Rows     = qnpu_reg_pkg::DefaultRows,      // PE rows
  parameter int Cols     = qnpu_reg_pkg::DefaultCols,      // PE columns
  parameter int AccDepth = qnpu_reg_pkg::DefaultAccDepth,  // accumulator rows per column
  parameter int ActRows  = qnpu_reg_pkg::DefaultActRows,   // activation scratchpad rows (Rows bytes each)
  parameter int WgtRows  = qnpu_reg_pkg::DefaultWgtRows,   // weight scratchpad rows (Cols bytes each)
  parameter int OutRows  = qnpu_reg_pkg::DefaultOutRows,   // output scratchpad rows (Cols x int32)
  parameter int MaxOut   = qnpu_reg_pkg::DefaultMaxOut,    // memory requests in flight
  parameter int FetchQ   = qnpu_reg_pkg::DefaultFetchQ,    // dispatch FIFO entries
  parameter int EngQ     = qnpu_reg_pkg::DefaultEngQ,      // command queue entries per engine
  parameter int Int4     = qnpu_reg_pkg::DefaultInt4,      // 0: int8-only PEs (no W4A4; CONFIG0 says so)
  parameter int ReqF32   = qnpu_reg_pkg::DefaultReqF32,    // 0: Q31 requantization only (CONFIG0 says so)
  parameter int ReqShare = qnpu_reg_pkg::DefaultReqShare,  // columns per requantization unit, at most Cols (CONFIG0 says so)
  localparam int Share   = ReqShare < Cols ? ReqShare : Cols,  // the build's columns per unit
  localparam int DataW   = 8 * qnpu_reg_pkg::BeatBytes,    // memory-port data bits
  localparam int MmioW   = $clog2(qnpu_reg_pkg::RegWindow)
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  // MMIO
  input  logic               mmio_valid_i,
  input  logic               mmio_write_i,
  input  logic [MmioW-1:0]   mmio_addr_i,
  input  logic [31:0]        mmio_wdata_i,
  output logic               mmio_ready_o,
  output logic               mmio_rvalid_o,
  output logic [31:0]        mmio_rdata_o,
  output logic               irq_o,
  // memory port: in-order responses, one per request (writes too)
  output logic               mem_req_valid_o,
  input  logic               mem_req_ready_i,
  output logic               mem_req_write_o,
  output logic [31:0]        mem_req_addr_o,
  output logic [DataW-1:0]   mem_req_wdata_o,
  output logic [DataW/8-1:0] mem_req_wstrb_o,
  input  logic               mem_rsp_valid_i,
  output logic               mem_rsp_ready_o,
  input  logic [DataW-1:0]   mem_rsp_rdata_i,
  input  logic               mem_rsp_err_i
);

  localparam int StrbW = DataW / 8;

  if (Cols % 2 != 0 || Rows % 2 != 0) begin : gen_bad_shape
    $error("qnpu_top: Rows and Cols must be even (int4 packing)");
  end

  // ---- registers and controller ---------------------------------------------------------
  logic          soft_reset, ring_en, push_valid, push_ready, busy, halted, fence_irq, halt;
  logic [31:0]   ring_base, watchdog, err_info;
  logic [16:0]   ring_size;
  logic [15:0]   ring_head, ring_tail;
  logic [255:0]  push_cmd;
  logic [7:0]    cmdq_level, err_code;
  logic [3:0]    err_engine;
  logic [2:0]    eng_valid, eng_ready, eng_done, eng_busy, eng_stall, dep_wait;
  logic [3*256-1:0] eng_cmd;
  logic          mac_row, mode4;
  logic [$clog2(Cols+1)-1:0]  sat;
  logic [$clog2(StrbW+1)-1:0] rd_bytes, wr_bytes;

  qnpu_regs #(.Rows(Rows), .Cols(Cols), .AccDepth(AccDepth), .ActRows(ActRows),
              .WgtRows(WgtRows), .OutRows(OutRows), .DataW(DataW), .Int4(Int4), .ReqF32(ReqF32),
              .ReqShare(Share)) u_regs (
    .clk_i, .rst_ni,
    .mmio_valid_i, .mmio_write_i, .mmio_addr_i, .mmio_wdata_i, .mmio_ready_o,
    .mmio_rvalid_o, .mmio_rdata_o, .irq_o,
    .soft_reset_o (soft_reset), .ring_en_o(ring_en), .ring_base_o(ring_base),
    .ring_size_o(ring_size), .ring_head_o(ring_head), .ring_tail_i(ring_tail),
    .watchdog_o(watchdog), .push_valid_o(push_valid), .push_cmd_o(push_cmd),
    .push_ready_i(push_ready), .busy_i(busy), .halted_i(halted), .mem_pending_i(!mem_idle),
    .cmdq_level_i(cmdq_level),
    .err_code_i(err_code), .err_engine_i(err_engine), .err_info_i(err_info),
    .fence_irq_i(fence_irq), .eng_busy_i(eng_busy), .eng_stall_i(eng_stall | dep_wait),
    .mac_row_i(mac_row), .mode4_i(mode4), .sat_i(sat), .rd_bytes_i(rd_bytes), .wr_bytes_i(wr_bytes)
  );

  // Memory requesters: 0 fetch, 1 load, 2 store.
  logic [2:0]         rq_valid, rq_ready, rq_write, rs_valid, rs_ready;
  logic [3*32-1:0]    rq_addr;
  logic [3*DataW-1:0] rq_wdata;
  logic [3*StrbW-1:0] rq_wstrb;
  logic [DataW-1:0]   rs_rdata;
  logic               rs_err, mem_idle;

  logic        ld_err, st_err;
  logic [31:0] ld_err_addr, st_err_addr;

  qnpu_ctrl #(.Rows(Rows), .Cols(Cols), .AccDepth(AccDepth), .ActRows(ActRows),
              .WgtRows(WgtRows), .OutRows(OutRows), .DataW(DataW), .Int4(Int4),
              .FetchQ(FetchQ), .EngQ(EngQ)) u_ctrl (
    .clk_i, .rst_ni,
    .soft_reset_i(soft_reset), .ring_en_i(ring_en), .ring_base_i(ring_base),
    .ring_size_i(ring_size), .ring_head_i(ring_head), .ring_tail_o(ring_tail),
    .watchdog_i(watchdog), .push_valid_i(push_valid), .push_cmd_i(push_cmd),
    .push_ready_o(push_ready),
    .f_req_valid_o(rq_valid[0]), .f_req_ready_i(rq_ready[0]), .f_req_addr_o(rq_addr[31:0]),
    .f_rsp_valid_i(rs_valid[0]), .f_rsp_ready_o(rs_ready[0]), .f_rsp_rdata_i(rs_rdata),
    .f_rsp_err_i(rs_err),
    .eng_valid_o(eng_valid), .eng_ready_i(eng_ready), .eng_cmd_o(eng_cmd), .eng_done_i(eng_done),
    .eng_busy_i(eng_busy), .eng_stall_i(eng_stall), .ld_err_i(ld_err), .ld_err_addr_i(ld_err_addr),
    .st_err_i(st_err), .st_err_addr_i(st_err_addr), .halt_o(halt),
    .busy_o(busy), .halted_o(halted), .cmdq_level_o(cmdq_level), .err_code_o(err_code),
    .err_engine_o(err_engine), .err_info_o(err_info), .fence_irq_o(fence_irq), .dep_wait_o(dep_wait)
  );
  assign rq_write[0] = 1'b0;
  assign rq_wdata[DataW-1:0] = '0;
  assign rq_wstrb[StrbW-1:0] = '0;

  // ---- scratchpads ------------------------------------------------------------------------
  localparam int RowB = (Rows > Cols) ? Rows : Cols;
  logic              act_we, wgt_we;
  logic [15:0]       spad_waddr;
  logic [RowB*8-1:0] spad_wdata;
  logic              ex_act_re, ex_wgt_re, st_act_re, st_wgt_re, st_out_re;
  logic [15:0]       ex_act_raddr, ex_wgt_raddr, st_raddr;
  logic [Rows*8-1:0] act_rdata;
  logic [Cols*8-1:0] wgt_rdata;
  logic [Cols*32-1:0] out_rdata;

  qnpu_spad #(.Depth(ActRows), .Lanes(1), .LaneW(Rows * 8)) u_act (
    .clk_i, .we_i(act_we), .waddr_i(spad_waddr[$clog2(ActRows)-1:0]), .wlanes_i(1'b1),
    .wdata_i(spad_wdata[Rows*8-1:0]), .re_i(ex_act_re || st_act_re),
    .raddr_i(ex_act_re ? ex_act_raddr[$clog2(ActRows)-1:0] : st_raddr[$clog2(ActRows)-1:0]),
    .rdata_o(act_rdata)
  );
  qnpu_spad #(.Depth(WgtRows), .Lanes(1), .LaneW(Cols * 8)) u_wgt (
    .clk_i, .we_i(wgt_we), .waddr_i(spad_waddr[$clog2(WgtRows)-1:0]), .wlanes_i(1'b1),
    .wdata_i(spad_wdata[Cols*8-1:0]), .re_i(ex_wgt_re || st_wgt_re),
    .raddr_i(ex_wgt_re ? ex_wgt_raddr[$clog2(WgtRows)-1:0] : st_raddr[$clog2(WgtRows)-1:0]),
    .rdata_o(wgt_rdata)
  );

  localparam int OutW = $clog2(OutRows);
  logic [Cols-1:0]      out_we;
  logic [Cols*OutW-1:0] out_waddr;
  logic [Cols*32-1:0]   out_wdata;
  for (genvar j = 0; j < Cols; j++) begin : gen_out_spad
    qnpu_spad #(.Depth(OutRows), .Lanes(1), .LaneW(32)) u_out (
      .clk_i, .we_i(out_we[j]), .waddr_i(out_waddr[j*OutW +: OutW]), .wlanes_i(1'b1),
      .wdata_i(out_wdata[j*32 +: 32]), .re_i(st_out_re), .raddr_i(st_raddr[$clog2(OutRows)-1:0]),
      .rdata_o(out_rdata[j*32 +: 32])
    );
  end

  // ---- engines ---------------------------------------------------------------------------
  logic                    prm_we, prm_bank;
  logic [$clog2(Cols)-1:0] prm_col;
  logic [127:0]            prm_rec;

  qnpu_ld #(.Rows(Rows), .Cols(Cols), .DataW(DataW), .MaxOut(MaxOut)) u_ld (
    .clk_i, .rst_ni, .halt_i(halt), .clr_i(soft_reset),
    .cmd_valid_i(eng_valid[0]), .cmd_ready_o(eng_ready[0]), .cmd_i(eng_cmd[255:0]), .done_o(eng_done[0]),
    .req_valid_o(rq_valid[1]), .req_ready_i(rq_ready[1]), .req_addr_o(rq_addr[63:32]),
    .rsp_valid_i(rs_valid[1]), .rsp_ready_o(rs_ready[1]), .rsp_rdata_i(rs_rdata), .rsp_err_i(rs_err),
    .act_we_o(act_we), .wgt_we_o(wgt_we), .spad_waddr_o(spad_waddr), .spad_wdata_o(spad_wdata),
    .prm_we_o(prm_we), .prm_col_o(prm_col), .prm_bank_o(prm_bank), .prm_rec_o(prm_rec),
    .busy_o(eng_busy[0]), .stall_o(eng_stall[0]), .err_o(ld_err), .err_addr_o(ld_err_addr)
  );
  assign rq_write[1] = 1'b0;
  assign rq_wdata[2*DataW-1:DataW] = '0;
  assign rq_wstrb[2*StrbW-1:StrbW] = '0;

  qnpu_ex #(.Rows(Rows), .Cols(Cols), .AccDepth(AccDepth), .OutRows(OutRows), .Int4(Int4), .ReqF32(ReqF32),
            .ReqShare(Share)) u_ex (
    .clk_i, .rst_ni, .halt_i(halt), .clr_i(soft_reset),
    .cmd_valid_i(eng_valid[1]), .cmd_ready_o(eng_ready[1]), .cmd_i(eng_cmd[511:256]), .done_o(eng_done[1]),
    .act_re_o(ex_act_re), .act_raddr_o(ex_act_raddr), .act_rdata_i(act_rdata),
    .wgt_re_o(ex_wgt_re), .wgt_raddr_o(ex_wgt_raddr), .wgt_rdata_i(wgt_rdata),
    .out_we_o(out_we), .out_waddr_o(out_waddr), .out_wdata_o(out_wdata),
    .prm_we_i(prm_we), .prm_col_i(prm_col), .prm_bank_i(prm_bank), .prm_rec_i(prm_rec),
    .mac_row_o(mac_row), .mode4_o(mode4), .sat_o(sat), .busy_o(eng_busy[1]), .stall_o(eng_stall[1])
  );

  qnpu_st #(.Rows(Rows), .Cols(Cols), .DataW(DataW), .MaxOut(MaxOut)) u_st (
    .clk_i, .rst_ni, .halt_i(halt), .clr_i(soft_reset),
    .cmd_valid_i(eng_valid[2]), .cmd_ready_o(eng_ready[2]), .cmd_i(eng_cmd[767:512]), .done_o(eng_done[2]),
    .req_valid_o(rq_valid[2]), .req_ready_i(rq_ready[2]), .req_addr_o(rq_addr[95:64]),
    .req_wdata_o(rq_wdata[3*DataW-1:2*DataW]), .req_wstrb_o(rq_wstrb[3*StrbW-1:2*StrbW]),
    .rsp_valid_i(rs_valid[2]), .rsp_ready_o(rs_ready[2]), .rsp_err_i(rs_err),
    .out_re_o(st_out_re), .act_re_o(st_act_re), .wgt_re_o(st_wgt_re), .raddr_o(st_raddr),
    .act_gnt_i(!ex_act_re), .wgt_gnt_i(!ex_wgt_re),
    .out_rdata_i(out_rdata), .act_rdata_i(act_rdata), .wgt_rdata_i(wgt_rdata),
    .busy_o(eng_busy[2]), .stall_o(eng_stall[2]), .err_o(st_err), .err_addr_o(st_err_addr)
  );
  assign rq_write[2] = 1'b1;

  // ---- memory port ---------------------------------------------------------------------------
  qnpu_mem_arb #(.N(3), .DataW(DataW), .MaxOut(MaxOut)) u_arb (
    .clk_i, .rst_ni, .clr_i(soft_reset),
    .req_valid_i(rq_valid), .req_ready_o(rq_ready), .req_write_i(rq_write), .req_addr_i(rq_addr),
    .req_wdata_i(rq_wdata), .req_wstrb_i(rq_wstrb),
    .rsp_valid_o(rs_valid), .rsp_ready_i(rs_ready), .rsp_rdata_o(rs_rdata), .rsp_err_o(rs_err),
    .mem_req_valid_o, .mem_req_ready_i, .mem_req_write_o, .mem_req_addr_o, .mem_req_wdata_o,
    .mem_req_wstrb_o, .mem_rsp_valid_i, .mem_rsp_ready_o, .mem_rsp_rdata_i, .mem_rsp_err_i,
    .rd_bytes_o(rd_bytes), .wr_bytes_o(wr_bytes), .idle_o(mem_idle)
  );

endmodule
