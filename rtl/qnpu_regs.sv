// qnpu_regs.sv - the MMIO register file (map: docs/registers.md, generated
// from regs/qnpu.json). Writes complete in the cycle they are accepted; read
// data follows one cycle later on mmio_rvalid_o. A write to the last
// CMD_PUSH word waits (mmio_ready_o low) while the dispatch queue is full.
// What the registers tell the controller (soft reset, pushed command) leaves
// through a register: no MMIO input reaches the engines combinationally.
module qnpu_regs #(
  parameter int Rows     = 4,
  parameter int Cols     = 4,
  parameter int AccDepth = 64,
  parameter int ActRows  = 1024,
  parameter int WgtRows  = 512,
  parameter int OutRows  = 128,
  parameter int DataW    = 128,
  parameter int Int4     = 1,     // 0: no W4A4 (CONFIG0.PRECISIONS)
  parameter int ReqF32   = 1,     // 0: no float32 requantization (CONFIG0.REQUANT_F32)
  parameter int ReqShare = 1      // columns per requantization unit (CONFIG0.REQ_SHARE_LOG2)
) (
  input  logic          clk_i,
  input  logic          rst_ni,
  // MMIO
  input  logic          mmio_valid_i,
  input  logic          mmio_write_i,
  input  logic [$clog2(qnpu_reg_pkg::RegWindow)-1:0] mmio_addr_i,
  input  logic [31:0]   mmio_wdata_i,
  output logic          mmio_ready_o,
  output logic          mmio_rvalid_o,
  output logic [31:0]   mmio_rdata_o,
  output logic          irq_o,
  // controller
  output logic          soft_reset_o,
  output logic          ring_en_o,
  output logic [31:0]   ring_base_o,
  output logic [16:0]   ring_size_o,
  output logic [15:0]   ring_head_o,
  input  logic [15:0]   ring_tail_i,
  output logic [31:0]   watchdog_o,
  output logic          push_valid_o,
  output logic [255:0]  push_cmd_o,
  input  logic          push_ready_i,
  input  logic          busy_i,
  input  logic          halted_i,
  input  logic          mem_pending_i,
  input  logic [7:0]    cmdq_level_i,
  input  logic [7:0]    err_code_i,
  input  logic [3:0]    err_engine_i,
  input  logic [31:0]   err_info_i,
  input  logic          fence_irq_i,
  // performance events (per cycle)
  input  logic [2:0]    eng_busy_i,
  input  logic [2:0]    eng_stall_i,
  input  logic          mac_row_i,
  input  logic          mode4_i,
  input  logic [$clog2(Cols+1)-1:0] sat_i,
  input  logic [$clog2(DataW/8+1)-1:0] rd_bytes_i,
  input  logic [$clog2(DataW/8+1)-1:0] wr_bytes_i
);

  // ---- decode -------------------------------------------------------------------
  // The registers sit in the first 256 bytes of the window; the rest reads 0.
  logic [7:0] a;
  logic       low;
  assign a   = mmio_addr_i[7:0];
  assign low = mmio_addr_i[$bits(mmio_addr_i)-1:8] == '0;
  logic is_push, push_last;
  assign is_push   = low && a >= qnpu_reg_pkg::CmdPushOffset &&
                     a < qnpu_reg_pkg::CmdPushOffset + 8'(4 * qnpu_reg_pkg::CmdPushCount);
  assign push_last = is_push && a == qnpu_reg_pkg::CmdPushOffset + 8'(4 * (qnpu_reg_pkg::CmdPushCount - 1));

  assign mmio_ready_o = !(mmio_valid_i && mmio_write_i && push_last && !push_ready_i);
  logic wr, rd;
  assign wr = mmio_valid_i && mmio_ready_o && mmio_write_i && low;
  assign rd = mmio_valid_i && mmio_ready_o && !mmio_write_i;

  // ---- control registers ---------------------------------------------------------
  logic        ring_en_q, irq_en_q;
  logic [31:0] ring_base_q, watchdog_q;
  logic [16:0] ring_size_q;
  logic [15:0] ring_head_q;
  logic [1:0]  irq_q;
  logic [223:0] push_q;           // words 0..6; word 7 comes with the write that queues
  logic [255:0] push_cmd_q;
  logic        push_valid_q, soft_reset_q;
  logic        halted_q1;
  logic        perf_clr;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      ring_en_q   <= 1'b0;
      irq_en_q    <= 1'b0;
      ring_base_q <= '0;
      ring_size_q <= 17'd2;
      ring_head_q <= '0;
      watchdog_q  <= qnpu_reg_pkg::WatchdogReset;
      irq_q       <= '0;
      halted_q1   <= 1'b0;
    end else begin
      halted_q1 <= halted_i;
      if (fence_irq_i) irq_q[0] <= 1'b1;
      if (halted_i && !halted_q1) irq_q[1] <= 1'b1;
      if (wr) begin
        unique case (a)
          qnpu_reg_pkg::CtrlOffset: begin
            ring_en_q <= mmio_wdata_i[qnpu_reg_pkg::CtrlRingEnLsb];
            irq_en_q  <= mmio_wdata_i[qnpu_reg_pkg::CtrlIrqEnLsb];
            if (mmio_wdata_i[qnpu_reg_pkg::CtrlSoftResetLsb]) ring_head_q <= '0;
          end
          qnpu_reg_pkg::IrqStatusOffset: irq_q <= irq_q & ~mmio_wdata_i[1:0];
          qnpu_reg_pkg::RingBaseOffset:  ring_base_q <= mmio_wdata_i;
          qnpu_reg_pkg::RingSizeOffset:  ring_size_q <= mmio_wdata_i[16:0];
          qnpu_reg_pkg::RingHeadOffset:  ring_head_q <= mmio_wdata_i[15:0];
          qnpu_reg_pkg::WatchdogOffset:  watchdog_q  <= mmio_wdata_i;
          default: ;
        endcase
      end
    end
  end

  logic [7:0] push_off;
  logic [2:0] push_idx;
  assign push_off = a - qnpu_reg_pkg::CmdPushOffset;
  assign push_idx = push_off[4:2];  // word index; the offset is word-aligned and in range
  logic unused_push;
  assign unused_push = ^{push_off[7:5], push_off[1:0]};
  always_ff @(posedge clk_i) begin
    if (wr && is_push && !push_last) push_q[push_idx*32 +: 32] <= mmio_wdata_i;
  end
  // The pushed command and the soft reset take effect the cycle after the
  // write. A push is accepted only when the dispatch queue has room for the
  // one still in this register too (push_ready_i counts it).
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      push_valid_q <= 1'b0;
      soft_reset_q <= 1'b0;
    end else begin
      push_valid_q <= wr && push_last;
      soft_reset_q <= wr && a == qnpu_reg_pkg::CtrlOffset && mmio_wdata_i[qnpu_reg_pkg::CtrlSoftResetLsb];
    end
  end
  always_ff @(posedge clk_i) begin
    if (wr && push_last) push_cmd_q <= {mmio_wdata_i, push_q[223:0]};
  end
  assign push_valid_o = push_valid_q;
  assign push_cmd_o   = push_cmd_q;
  assign soft_reset_o = soft_reset_q;
  assign perf_clr     = wr && a == qnpu_reg_pkg::PerfCtrlOffset && mmio_wdata_i[qnpu_reg_pkg::PerfCtrlClearLsb];
  assign ring_en_o    = ring_en_q;
  assign ring_base_o  = ring_base_q;
  assign ring_size_o  = ring_size_q;
  assign ring_head_o  = ring_head_q;
  assign watchdog_o   = watchdog_q;
  assign irq_o        = irq_en_q && (irq_q != '0);

  // ---- performance counters ------------------------------------------------------
  logic [63:0] cycles_q, macs_q;
  logic [31:0] busy_q [3], stall_q [3];
  logic [31:0] rdb_q, wrb_q, sat_q, hi_q, rows_q, first_q, last_q;
  logic [63:0] macs_per_row;
  assign macs_per_row = 64'(Rows * Cols) << mode4_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      cycles_q <= '0;
      macs_q   <= '0;
      rdb_q    <= '0;
      wrb_q    <= '0;
      sat_q    <= '0;
      rows_q   <= '0;
      first_q  <= '0;
      last_q   <= '0;
      for (int e = 0; e < 3; e++) begin
        busy_q[e]  <= '0;
        stall_q[e] <= '0;
      end
    end else if (perf_clr) begin
      cycles_q <= '0;
      macs_q   <= '0;
      rdb_q    <= '0;
      wrb_q    <= '0;
      sat_q    <= '0;
      rows_q   <= '0;
      first_q  <= '0;
      last_q   <= '0;
      for (int e = 0; e < 3; e++) begin
        busy_q[e]  <= '0;
        stall_q[e] <= '0;
      end
    end else begin
      cycles_q <= cycles_q + 64'd1;
      if (mac_row_i) begin
        macs_q <= macs_q + macs_per_row;
        rows_q <= rows_q + 32'd1;
        last_q <= cycles_q[31:0];
        if (rows_q == '0) first_q <= cycles_q[31:0];
      end
      rdb_q <= rdb_q + 32'(rd_bytes_i);
      wrb_q <= wrb_q + 32'(wr_bytes_i);
      sat_q <= sat_q + 32'(sat_i);
      for (int e = 0; e < 3; e++) begin
        if (eng_busy_i[e])  busy_q[e]  <= busy_q[e] + 32'd1;
        if (eng_stall_i[e]) stall_q[e] <= stall_q[e] + 32'd1;
      end
    end
  end

  // ---- reads -------------------------------------------------------------------
  logic [31:0] rdata_d;
  always_comb begin
    rdata_d = '0;
    if (low) begin
      unique case (a)
        qnpu_reg_pkg::IdOffset:      rdata_d = qnpu_reg_pkg::IdValue;
        qnpu_reg_pkg::VersionOffset: rdata_d = {qnpu_reg_pkg::VersionMajor, qnpu_reg_pkg::VersionMinor};
        qnpu_reg_pkg::Config0Offset: rdata_d = {8'(DataW / 8), 1'b0, 3'($clog2(ReqShare)), ReqF32 != 0, (Int4 != 0) ? 3'b111 : 3'b011,
                                                8'(Cols), 8'(Rows)};
        qnpu_reg_pkg::Config1Offset: rdata_d = {16'(WgtRows), 16'(ActRows)};
        qnpu_reg_pkg::Config2Offset: rdata_d = {16'(AccDepth), 16'(OutRows)};
        qnpu_reg_pkg::CtrlOffset:    rdata_d = {29'd0, irq_en_q, 1'b0, ring_en_q};
        qnpu_reg_pkg::StatusOffset:  rdata_d = {16'd0, cmdq_level_i, 5'd0, mem_pending_i, halted_i, busy_i};
        qnpu_reg_pkg::IrqStatusOffset: rdata_d = {30'd0, irq_q};
        qnpu_reg_pkg::ErrStatusOffset: rdata_d = {20'd0, err_engine_i, err_code_i};
        qnpu_reg_pkg::ErrInfoOffset:   rdata_d = err_info_i;
        qnpu_reg_pkg::RingBaseOffset:  rdata_d = ring_base_q;
        qnpu_reg_pkg::RingSizeOffset:  rdata_d = {15'd0, ring_size_q};
        qnpu_reg_pkg::RingHeadOffset:  rdata_d = {16'd0, ring_head_q};
        qnpu_reg_pkg::RingTailOffset:  rdata_d = {16'd0, ring_tail_i};
        qnpu_reg_pkg::WatchdogOffset:  rdata_d = watchdog_q;
        qnpu_reg_pkg::PerfCyclesLoOffset: rdata_d = cycles_q[31:0];
        qnpu_reg_pkg::PerfCyclesHiOffset: rdata_d = hi_q;
        qnpu_reg_pkg::PerfLdBusyOffset:   rdata_d = busy_q[0];
        qnpu_reg_pkg::PerfLdStallOffset:  rdata_d = stall_q[0];
        qnpu_reg_pkg::PerfExBusyOffset:   rdata_d = busy_q[1];
        qnpu_reg_pkg::PerfExStallOffset:  rdata_d = stall_q[1];
        qnpu_reg_pkg::PerfStBusyOffset:   rdata_d = busy_q[2];
        qnpu_reg_pkg::PerfStStallOffset:  rdata_d = stall_q[2];
        qnpu_reg_pkg::PerfMacsLoOffset:   rdata_d = macs_q[31:0];
        qnpu_reg_pkg::PerfMacsHiOffset:   rdata_d = hi_q;
        qnpu_reg_pkg::PerfRdBytesOffset:  rdata_d = rdb_q;
        qnpu_reg_pkg::PerfWrBytesOffset:  rdata_d = wrb_q;
        qnpu_reg_pkg::PerfSatOffset:      rdata_d = sat_q;
        qnpu_reg_pkg::PerfRowsOffset:     rdata_d = rows_q;
        qnpu_reg_pkg::PerfFirstRowOffset: rdata_d = first_q;
        qnpu_reg_pkg::PerfLastRowOffset:  rdata_d = last_q;
        default: rdata_d = '0;
      endcase
    end
  end

  // Reading a _LO word latches its _HI word.
  always_ff @(posedge clk_i) begin
    if (rd && a == qnpu_reg_pkg::PerfCyclesLoOffset) hi_q <= cycles_q[63:32];
    if (rd && a == qnpu_reg_pkg::PerfMacsLoOffset)   hi_q <= macs_q[63:32];
  end

  logic        rvalid_q;
  logic [31:0] rdata_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) rvalid_q <= 1'b0;
    else         rvalid_q <= rd;
  end
  always_ff @(posedge clk_i) if (rd) rdata_q <= rdata_d;
  assign mmio_rvalid_o = rvalid_q;
  assign mmio_rdata_o  = rdata_q;

endmodule
