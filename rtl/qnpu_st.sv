// qnpu_st.sv - the store engine: executes STORE commands.
//
// COUNT2 x COUNT1 scratchpad rows from SPAD_ROW on become rows of LEN bytes
// at DRAM_ADDR + i2*STRIDE2 + i1*STRIDE1 (any alignment; partial beats use
// byte strobes). Targets: OUT8 (the low byte of each output lane), OUT32
// (whole lanes, little-endian), OUT4 (lanes 2j and 2j+1 packed into byte j,
// low nibble first), ACT and WGT (raw scratchpad bytes, for tests and
// spills). A command completes when every write has been acknowledged.
module qnpu_st #(
  parameter int Rows   = 4,
  parameter int Cols   = 4,
  parameter int DataW  = 128,
  parameter int MaxOut = 64
) (
  input  logic               clk_i,
  input  logic               rst_ni,
  input  logic               halt_i,
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

  logic [2:0]  c_target;
  logic [15:0] c_row, c_len, c_cnt1, c_cnt2;
  logic [31:0] c_addr, c_str1, c_str2;
  assign c_target = cmd_i[qnpu_reg_pkg::CmdTargetLsb +: qnpu_reg_pkg::CmdTargetWidth];
  assign c_row    = cmd_i[qnpu_reg_pkg::CmdSpadRowLsb +: qnpu_reg_pkg::CmdSpadRowWidth];
  assign c_addr   = cmd_i[qnpu_reg_pkg::CmdDramAddrLsb +: qnpu_reg_pkg::CmdDramAddrWidth];
  assign c_len    = cmd_i[qnpu_reg_pkg::CmdLenLsb +: qnpu_reg_pkg::CmdLenWidth];
  assign c_cnt1   = cmd_i[qnpu_reg_pkg::CmdCount1Lsb +: qnpu_reg_pkg::CmdCount1Width];
  assign c_cnt2   = cmd_i[qnpu_reg_pkg::CmdCount2Lsb +: qnpu_reg_pkg::CmdCount2Width];
  assign c_str1   = cmd_i[qnpu_reg_pkg::CmdStride1Lsb +: qnpu_reg_pkg::CmdStride1Width];
  assign c_str2   = cmd_i[qnpu_reg_pkg::CmdStride2Lsb +: qnpu_reg_pkg::CmdStride2Width];

  typedef enum logic [1:0] {StIdle, StRead, StLatch, StBeats} state_e;
  state_e      state_q;
  logic [2:0]  tgt_q;
  logic [15:0] len_q, cnt1_q, cnt2_q, i1_q, i2_q, srow_q;
  logic [31:0] str1_q, str2_q, outer_q, rowa_q, beat_q;
  logic [RowB*8-1:0] row_q, row_d;
  logic [$clog2(MaxOut+1)-1:0] pending_q;
  logic        err_seen_q;

  // ---- row formatting ----------------------------------------------------------
  always_comb begin
    row_d = '0;
    unique case (tgt_q)
      qnpu_reg_pkg::TgtStoreOut8:
        for (int j = 0; j < Cols; j++) row_d[j*8 +: 8] = out_rdata_i[j*32 +: 8];
      qnpu_reg_pkg::TgtStoreOut32:
        row_d = out_rdata_i;
      qnpu_reg_pkg::TgtStoreOut4:
        for (int j = 0; j < Cols / 2; j++)
          row_d[j*8 +: 8] = {out_rdata_i[(2*j+1)*32 +: 4], out_rdata_i[2*j*32 +: 4]};
      qnpu_reg_pkg::TgtStoreAct:
        row_d[Rows*8-1:0] = act_rdata_i;
      default:
        row_d[Cols*8-1:0] = wgt_rdata_i;
    endcase
  end

  // ---- the current beat ----------------------------------------------------------
  logic [32:0] row_end;
  logic        last_beat;
  logic [Bytes-1:0] strb;
  logic [DataW-1:0] wdata;
  always_comb begin
    row_end   = {1'b0, rowa_q} + {17'd0, len_q};
    last_beat = ({1'b0, beat_q} + 33'(Bytes)) >= row_end;
    strb  = '0;
    wdata = '0;
    for (int b = 0; b < Bytes; b++) begin
      // row byte index of lane b: beat_q + b - rowa_q
      logic [31:0] idx;
      idx = beat_q + 32'(b) - rowa_q;
      if ({1'b0, beat_q} + 33'(b) >= {1'b0, rowa_q} && idx < {16'd0, len_q}) begin
        strb[b] = 1'b1;
        for (int d = 0; d < RowB; d++)
          if (idx == 32'(d)) wdata[b*8 +: 8] = row_q[d*8 +: 8];
      end
    end
  end

  logic rd_gnt;
  assign rd_gnt = (tgt_q == qnpu_reg_pkg::TgtStoreAct) ? act_gnt_i :
                  (tgt_q == qnpu_reg_pkg::TgtStoreWgt) ? wgt_gnt_i : 1'b1;

  assign cmd_ready_o = (state_q == StIdle) && pending_q == '0;
  logic start;
  assign start = cmd_valid_i && cmd_ready_o && !halt_i;

  logic do_read;
  assign do_read  = (state_q == StRead) && rd_gnt && !halt_i;
  assign out_re_o = do_read && tgt_q <= qnpu_reg_pkg::TgtStoreOut4;
  assign act_re_o = do_read && tgt_q == qnpu_reg_pkg::TgtStoreAct;
  assign wgt_re_o = do_read && tgt_q == qnpu_reg_pkg::TgtStoreWgt;
  assign raddr_o  = srow_q;

  assign req_valid_o = (state_q == StBeats) && !halt_i && pending_q != MaxOut[$clog2(MaxOut+1)-1:0];
  assign req_addr_o  = beat_q;
  assign req_wdata_o = wdata;
  assign req_wstrb_o = strb;
  logic fire;
  assign fire = req_valid_o && req_ready_i;

  logic [31:0] next_outer, next_row;
  assign next_outer = outer_q + str2_q;
  assign next_row   = rowa_q + str1_q;
  logic last_row;
  assign last_row = (i1_q + 16'd1 == cnt1_q) && (i2_q + 16'd1 == cnt2_q);

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q <= StIdle;
    end else if (halt_i) begin
      state_q <= StIdle;
    end else begin
      unique case (state_q)
        StIdle:  if (start) state_q <= StRead;
        StRead:  if (do_read) state_q <= StLatch;
        StLatch: state_q <= StBeats;
        StBeats: if (fire && last_beat) state_q <= last_row ? StIdle : StRead;
        default: state_q <= StIdle;
      endcase
    end
  end

  always_ff @(posedge clk_i) begin
    if (start) begin
      tgt_q   <= c_target;
      len_q   <= c_len;
      cnt1_q  <= c_cnt1;
      cnt2_q  <= c_cnt2;
      str1_q  <= c_str1;
      str2_q  <= c_str2;
      i1_q    <= '0;
      i2_q    <= '0;
      outer_q <= c_addr;
      rowa_q  <= c_addr;
      beat_q  <= {c_addr[31:Lg], {Lg{1'b0}}};
      srow_q  <= c_row;
    end
    if (state_q == StLatch) row_q <= row_d;
    if (fire) begin
      if (!last_beat) begin
        beat_q <= beat_q + 32'(Bytes);
      end else begin
        srow_q <= srow_q + 16'd1;
        if (i1_q + 16'd1 == cnt1_q) begin
          i1_q    <= '0;
          i2_q    <= i2_q + 16'd1;
          outer_q <= next_outer;
          rowa_q  <= next_outer;
          beat_q  <= {next_outer[31:Lg], {Lg{1'b0}}};
        end else begin
          i1_q   <= i1_q + 16'd1;
          rowa_q <= next_row;
          beat_q <= {next_row[31:Lg], {Lg{1'b0}}};
        end
      end
    end
  end

  // ---- write acknowledgements ------------------------------------------------
  assign rsp_ready_o = 1'b1;
  logic ack;
  assign ack = rsp_valid_i;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pending_q  <= '0;
      err_seen_q <= 1'b0;
    end else begin
      pending_q <= pending_q + {{($clog2(MaxOut+1)-1){1'b0}}, fire} - {{($clog2(MaxOut+1)-1){1'b0}}, ack};
      if (start) err_seen_q <= 1'b0;
      else if (ack && rsp_err_i) err_seen_q <= 1'b1;
    end
  end
  // Writes are acknowledged in order: remember the address of each.
  logic [31:0] addr_fifo_out;
  logic        addr_empty, addr_full;
  logic [$clog2(MaxOut+1)-1:0] addr_count;
  qnpu_fifo #(.Width(32), .Depth(MaxOut)) u_addr (
    .clk_i, .rst_ni, .clr_i(1'b0),
    .push_i(fire), .data_i(beat_q), .pop_i(ack),
    .data_o(addr_fifo_out), .empty_o(addr_empty), .full_o(addr_full), .count_o(addr_count)
  );

  logic busy_q;
  assign err_o      = ack && rsp_err_i && !err_seen_q;
  assign err_addr_o = addr_fifo_out;
  assign done_o     = (state_q == StIdle) && busy_q && pending_q == '0 && !err_seen_q && !halt_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)     busy_q <= 1'b0;
    else if (start)  busy_q <= 1'b1;
    else if (done_o || (halt_i && pending_q == '0)) busy_q <= 1'b0;
  end
  assign busy_o  = busy_q;
  assign stall_o = busy_q && ((req_valid_o && !req_ready_i) || (state_q == StRead && !rd_gnt) ||
                              (state_q == StIdle && pending_q != '0));

  logic unused_st;
  assign unused_st = ^{addr_empty, addr_full, addr_count};

endmodule
