// qnpu_st.sv - the store engine: executes STORE commands.
//
// COUNT3 x COUNT2 x COUNT1 scratchpad rows from SPAD_ROW on become rows of
// LEN bytes at the addresses of the qnpu_agen walk (any alignment; partial
// beats use byte strobes). Targets: OUT8 (the low byte of each output
// lane), OUT32 (whole lanes, little-endian), OUT4 (lanes 2j and 2j+1 packed
// into byte j, low nibble first), ACT and WGT (raw scratchpad rows, for
// tests and spills).
//
// Two stages, one beat per cycle: A walks the beats and reads a row's
// scratchpad row at its first beat; B formats the row and issues the write.
// A takes the next command as soon as it has passed the current one's last
// beat to B; a command completes when its last write is acknowledged.
module qnpu_st #(
  parameter int Rows   = 4,
  parameter int Cols   = 4,
  parameter int DataW  = 128,
  parameter int MaxOut = 64
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               halt_i,
  input  logic               clr_i,        // soft reset: forget what is in flight
  input  logic               cmd_valid_i,
  output logic               cmd_ready_o,
  input  logic [255:0]       cmd_i,
  output logic               done_o,
  // memory (writes)
  output logic               req_valid_o,
  input  logic               req_ready_i,
  output logic [31:0]        req_addr_o,
  output logic [DataW-1:0]   req_wdata_o,
  output logic [DataW/8-1:0] req_wstrb_o,
  input  logic               rsp_valid_i,
  output logic               rsp_ready_o,
  input  logic               rsp_err_i,
  // scratchpad reads (one-cycle latency); *_gnt_i: the port is free this cycle
  output logic               out_re_o,
  output logic               act_re_o,
  output logic               wgt_re_o,
  output logic [15:0]        raddr_o,
  input  logic               act_gnt_i,
  input  logic               wgt_gnt_i,
  input  logic [Cols*32-1:0] out_rdata_i,
  input  logic [Rows*8-1:0]  act_rdata_i,
  input  logic [Cols*8-1:0]  wgt_rdata_i,
  // status
  output logic               busy_o,
  output logic               stall_o,
  output logic               err_o,
  output logic [31:0]        err_addr_o
);

  localparam int Bytes = DataW / 8;
  localparam int Lg    = $clog2(Bytes);
  localparam int RowB  = 4 * Cols;  // the widest row (OUT32)
  localparam int CntW  = $clog2(MaxOut + 1);

  // ---- stage A: the walk ------------------------------------------------------------
  logic        start, g_active, g_pad, g_first, g_last, g_last_row, a_adv;
  logic [31:0] g_beat;
  logic [Lg:0] g_lo, g_n;
  logic [15:0] g_off;
  logic [2:0]  tgt_q;
  logic [15:0] srow_q;

  // The next command starts in the cycle the current one's last beat moves
  // on to B, so back-to-back commands leave no gap.
  assign cmd_ready_o = (!g_active || (a_adv && g_last && g_last_row)) && !halt_i;
  assign start       = cmd_valid_i && cmd_ready_o;

  qnpu_agen #(.Bytes(Bytes)) u_agen (
    .clk_i, .rst_ni, .clr_i(halt_i),
    .start_i   (start),
    .addr_i    (cmd_i[qnpu_reg_pkg::CmdDramAddrLsb +: 32]),
    .len_i     (cmd_i[qnpu_reg_pkg::CmdLenLsb +: 16]),
    .cnt1_i    (cmd_i[qnpu_reg_pkg::CmdCount1Lsb +: 16]),
    .cnt2_i    (cmd_i[qnpu_reg_pkg::CmdCount2Lsb +: 16]),
    .cnt3_i    (cmd_i[qnpu_reg_pkg::CmdCount3Lsb +: 16]),
    .str1_i    (cmd_i[qnpu_reg_pkg::CmdStride1Lsb +: 32]),
    .str2_i    (cmd_i[qnpu_reg_pkg::CmdStride2Lsb +: 32]),
    .str3_i    (cmd_i[qnpu_reg_pkg::CmdStride3Lsb +: 32]),
    .pad_xlo_i (4'd0),
    .pad_xhi_i (4'd0),
    .pad_ylo_i (4'd0),
    .pad_yhi_i (4'd0),
    .next_i    (a_adv),
    .active_o  (g_active),
    .pad_o     (g_pad),
    .beat_o    (g_beat),
    .first_o   (g_first),
    .last_o    (g_last),
    .lo_o      (g_lo),
    .n_o       (g_n),
    .off_o     (g_off),
    .last_row_o(g_last_row)
  );

  // The row is read at its first beat, when the beat moves on to B (B must
  // catch the read data the next cycle).
  logic b_valid_q, b_fire, b_free, rd_gnt, pending_full;
  assign rd_gnt = (tgt_q == qnpu_reg_pkg::TgtStoreAct) ? act_gnt_i :
                  (tgt_q == qnpu_reg_pkg::TgtStoreWgt) ? wgt_gnt_i : 1'b1;
  assign b_free = !b_valid_q || b_fire;
  assign a_adv  = g_active && b_free && (!g_first || rd_gnt) && !halt_i;

  assign out_re_o = a_adv && g_first && tgt_q <= qnpu_reg_pkg::TgtStoreOut4;
  assign act_re_o = a_adv && g_first && tgt_q == qnpu_reg_pkg::TgtStoreAct;
  assign wgt_re_o = a_adv && g_first && tgt_q == qnpu_reg_pkg::TgtStoreWgt;
  assign raddr_o  = srow_q;

  logic [15:0] srow_d;
  always_comb begin
    srow_d = srow_q;
    if (start) srow_d = cmd_i[qnpu_reg_pkg::CmdSpadRowLsb +: 16];
    else if (a_adv && g_last) srow_d = srow_q + 16'd1;
  end
  always_ff @(posedge clk_i) begin
    if (start) tgt_q <= cmd_i[qnpu_reg_pkg::CmdTargetLsb +: qnpu_reg_pkg::CmdTargetWidth];
    srow_q <= srow_d;
  end

  // ---- stage B: format and write ---------------------------------------------------
  logic [31:0]       b_addr_q;
  logic [Lg:0]       b_lo_q, b_n_q;
  logic [15:0]       b_off_q;
  logic              b_first_q, b_end_q;
  logic [2:0]        b_tgt_q;
  logic [RowB*8-1:0] row_q, row_fmt, row;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)     b_valid_q <= 1'b0;
    else if (halt_i) b_valid_q <= 1'b0;
    else if (b_free) b_valid_q <= a_adv;
  end
  always_ff @(posedge clk_i) begin
    if (a_adv) begin
      b_addr_q  <= g_beat;
      b_lo_q    <= g_lo;
      b_n_q     <= g_n;
      b_off_q   <= g_off;
      b_first_q <= g_first;
      b_end_q   <= g_last && g_last_row;
      b_tgt_q   <= tgt_q;
    end
    // The scratchpad data of a first beat stays on the read port until the
    // next read, which cannot happen before this beat is written.
    if (b_valid_q && b_first_q) row_q <= row_fmt;
  end

  always_comb begin
    row_fmt = '0;
    unique case (b_tgt_q)
      qnpu_reg_pkg::TgtStoreOut8:
        for (int j = 0; j < Cols; j++) row_fmt[j*8 +: 8] = out_rdata_i[j*32 +: 8];
      qnpu_reg_pkg::TgtStoreOut32:
        row_fmt = out_rdata_i;
      qnpu_reg_pkg::TgtStoreOut4:
        for (int j = 0; j < Cols / 2; j++)
          row_fmt[j*8 +: 8] = {out_rdata_i[(2*j+1)*32 +: 4], out_rdata_i[2*j*32 +: 4]};
      qnpu_reg_pkg::TgtStoreAct:
        row_fmt[Rows*8-1:0] = act_rdata_i;
      default:
        row_fmt[Cols*8-1:0] = wgt_rdata_i;
    endcase
  end
  assign row = b_first_q ? row_fmt : row_q;

  // Lane b of the beat holds row byte off - lo + b: the row shifted by that.
  logic [RowB*8+DataW-1:0] ext;
  logic [DataW-1:0]        wdata;
  logic [Bytes-1:0]        strb;
  always_comb begin
    ext   = {row, {DataW{1'b0}}} >> {b_off_q - 16'(b_lo_q) + 16'(Bytes), 3'b000};
    wdata = ext[DataW-1:0];
    strb  = Bytes'(((1 << b_n_q) - 1) << b_lo_q);
  end

  logic [CntW-1:0] pending_q;
  assign pending_full = pending_q == CntW'(MaxOut);
  assign req_valid_o  = b_valid_q && !pending_full && !halt_i;
  assign req_addr_o   = b_addr_q;
  assign req_wdata_o  = wdata;
  assign req_wstrb_o  = strb;
  assign b_fire       = req_valid_o && req_ready_i;

  // ---- acknowledgements, in order: remember the address and command end ----------
  logic        ack, err_seen_q, a_end, a_empty, a_full;
  logic [31:0] a_addr;
  logic [CntW-1:0] a_count;
  assign rsp_ready_o = 1'b1;
  assign ack         = rsp_valid_i;

  qnpu_fifo #(.Width(33), .Depth(MaxOut)) u_ack (
    .clk_i, .rst_ni, .clr_i,
    .push_i(b_fire), .data_i({b_end_q, b_addr_q}), .pop_i(ack),
    .data_o({a_end, a_addr}), .empty_o(a_empty), .full_o(a_full), .count_o(a_count)
  );
  assign pending_q = a_count;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)               err_seen_q <= 1'b0;
    else if (clr_i)            err_seen_q <= 1'b0;
    else if (ack && rsp_err_i) err_seen_q <= 1'b1;
  end
  assign err_o      = ack && rsp_err_i && !err_seen_q;
  assign err_addr_o = a_addr;
  assign done_o     = ack && a_end && !rsp_err_i && !err_seen_q && !halt_i;

  assign busy_o  = g_active || b_valid_q || !a_empty;
  assign stall_o = (b_valid_q && !b_fire) || (g_active && !b_free) || (g_active && g_first && !rd_gnt) ||
                   (!g_active && !b_valid_q && !a_empty);

  logic unused_st;
  assign unused_st = ^{g_pad, a_full, ext[RowB*8+DataW-1:DataW]};

endmodule
