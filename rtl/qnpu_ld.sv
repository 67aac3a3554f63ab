// qnpu_ld.sv - the load engine: executes LOAD commands.
//
// A LOAD walks COUNT3 x COUNT2 x COUNT1 rows of LEN bytes (qnpu_agen: any
// byte alignment, padding rows) into consecutive scratchpad rows from
// SPAD_ROW on, zero-extending each row to the scratchpad row; a padding row
// gets LEN bytes of FILL and reads nothing. Target PRM0/PRM1 reads LEN/16
// 16-byte records into one requantization bank, one column per beat, from
// column SPAD_ROW on. Fields were validated by the dispatcher.
//
// The request side runs ahead of the response side by up to MaxOut beats,
// across commands: it takes the next command as soon as it has issued the
// last beat of the current one. A metadata FIFO tells the in-order response
// side where each beat's bytes go (and which entries are padding rows, which
// it writes without a response); the entry that ends a command completes it.
module qnpu_ld #(
  parameter int Rows    = 4,    // activation row bytes
  parameter int Cols    = 4,    // weight row bytes; parameter records
  parameter int DataW   = 128,  // memory-port bits
  parameter int MaxOut  = 64,   // beats in flight (a power of two)
  localparam int RowB   = (Rows > Cols) ? Rows : Cols
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                halt_i,      // stop issuing; drain what is in flight, writing nothing
  input  logic                clr_i,       // soft reset: forget what is in flight
  // command
  input  logic                cmd_valid_i,
  output logic                cmd_ready_o,
  input  logic [255:0]        cmd_i,
  output logic                done_o,      // a command completed (in order)
  // memory
  output logic                req_valid_o,
  input  logic                req_ready_i,
  output logic [31:0]         req_addr_o,
  input  logic                rsp_valid_i,
  output logic                rsp_ready_o,
  input  logic [DataW-1:0]    rsp_rdata_i,
  input  logic                rsp_err_i,
  // scratchpad writes
  output logic                act_we_o,
  output logic                wgt_we_o,
  output logic [15:0]         spad_waddr_o,
  output logic [RowB*8-1:0]   spad_wdata_o,  // low Rows / Cols bytes used
  // requantization parameters: one record per cycle
  output logic                prm_we_o,
  output logic [$clog2(Cols)-1:0] prm_col_o,
  output logic                prm_bank_o,
  output logic [127:0]        prm_rec_o,
  // status
  output logic                busy_o,
  output logic                stall_o,
  output logic                err_o,       // a response carried an error (pulse)
  output logic [31:0]         err_addr_o
);

  localparam int Bytes = DataW / 8;
  localparam int Lg    = $clog2(Bytes);
  localparam int OffW  = $clog2(RowB);
  localparam int LenW  = $clog2(RowB + 1);

  if (Bytes != qnpu_reg_pkg::PrmRecordBytes) begin : gen_bad_width
    $error("qnpu_ld: a parameter record must be one memory beat");
  end

  // ---- the command being issued --------------------------------------------------
  logic [2:0]  c_tgt;
  logic [7:0]  c_fill;
  logic [15:0] c_row, c_len;
  assign c_tgt  = cmd_i[qnpu_reg_pkg::CmdTargetLsb +: qnpu_reg_pkg::CmdTargetWidth];
  assign c_fill = cmd_i[qnpu_reg_pkg::CmdFillLsb +: qnpu_reg_pkg::CmdFillWidth];
  assign c_row  = cmd_i[qnpu_reg_pkg::CmdSpadRowLsb +: qnpu_reg_pkg::CmdSpadRowWidth];
  assign c_len  = cmd_i[qnpu_reg_pkg::CmdLenLsb +: qnpu_reg_pkg::CmdLenWidth];

  logic        start, g_active, g_pad, g_first, g_last, g_last_row, step;
  logic [31:0] g_beat;
  logic [Lg:0] g_lo, g_n;
  logic [15:0] g_off;

  // The next command starts in the cycle the current one's last step goes
  // out, so back-to-back commands leave no gap on the port.
  assign cmd_ready_o = (!g_active || (step && g_last && g_last_row)) && !halt_i;
  assign start       = cmd_valid_i && cmd_ready_o;

  qnpu_agen #(.Bytes(Bytes)) u_agen (
    .clk_i, .rst_ni, .clr_i(halt_i),
    .start_i   (start),
    .addr_i    (cmd_i[qnpu_reg_pkg::CmdDramAddrLsb +: 32]),
    .len_i     (c_len),
    .cnt1_i    (cmd_i[qnpu_reg_pkg::CmdCount1Lsb +: 16]),
    .cnt2_i    (cmd_i[qnpu_reg_pkg::CmdCount2Lsb +: 16]),
    .cnt3_i    (cmd_i[qnpu_reg_pkg::CmdCount3Lsb +: 16]),
    .str1_i    (cmd_i[qnpu_reg_pkg::CmdStride1Lsb +: 32]),
    .str2_i    (cmd_i[qnpu_reg_pkg::CmdStride2Lsb +: 32]),
    .str3_i    (cmd_i[qnpu_reg_pkg::CmdStride3Lsb +: 32]),
    .pad_xlo_i (cmd_i[qnpu_reg_pkg::CmdPadXLoLsb +: 4]),
    .pad_xhi_i (cmd_i[qnpu_reg_pkg::CmdPadXHiLsb +: 4]),
    .pad_ylo_i (cmd_i[qnpu_reg_pkg::CmdPadYLoLsb +: 4]),
    .pad_yhi_i (cmd_i[qnpu_reg_pkg::CmdPadYHiLsb +: 4]),
    .next_i    (step),
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

  logic [2:0]  tgt_q;
  logic [7:0]  fill_q;
  logic [15:0] len_q, srow_q;
  logic        is_prm;
  assign is_prm = tgt_q == qnpu_reg_pkg::TgtLoadPrm0 || tgt_q == qnpu_reg_pkg::TgtLoadPrm1;

  // Metadata of one step, in flight with its beat.
  typedef struct packed {
    logic [31:0]     addr;     // beat address (for error reports)
    logic [15:0]     srow;     // scratchpad row, or parameter column
    logic [Lg:0]     lo;       // first useful byte in the beat
    logic [Lg:0]     n;        // useful bytes
    logic [OffW-1:0] off;      // where they go in the row
    logic            first;    // first beat of its row
    logic            last;     // last beat of its row
    logic            pad;      // a padding row: no beat, write FILL
    logic [1:0]      tgt;      // target (qnpu_reg_pkg::TgtLoad*)
    logic [7:0]      fill;
    logic [LenW-1:0] len;      // row bytes (padding rows)
    logic            cmd_end;  // the command's last step
  } meta_t;

  meta_t meta_in, meta_out;
  logic  meta_empty, meta_full, meta_pop;
  logic [$clog2(MaxOut+1)-1:0] meta_count;

  always_comb begin
    meta_in.addr    = g_beat;
    meta_in.srow    = srow_q;
    meta_in.lo      = g_lo;
    meta_in.n       = g_n;
    meta_in.off     = OffW'(g_off);
    meta_in.first   = g_first;
    meta_in.last    = g_last;
    meta_in.pad     = g_pad;
    meta_in.tgt     = tgt_q[1:0];
    meta_in.fill    = fill_q;
    meta_in.len     = LenW'(len_q);
    meta_in.cmd_end = g_last && g_last_row;
  end

  assign req_valid_o = g_active && !g_pad && !meta_full && !halt_i;
  assign req_addr_o  = g_beat;
  assign step        = g_active && !meta_full && !halt_i && (g_pad || req_ready_i);

  localparam int MetaW = 32 + 16 + 2 * (Lg + 1) + OffW + 3 + 2 + 8 + LenW + 1;  // bits of meta_t
  qnpu_fifo #(.Width(MetaW), .Depth(MaxOut)) u_meta (
    .clk_i, .rst_ni, .clr_i,
    .push_i  (step),
    .data_i  (meta_in),
    .pop_i   (meta_pop),
    .data_o  (meta_out),
    .empty_o (meta_empty),
    .full_o  (meta_full),
    .count_o (meta_count)
  );

  // Destination: the next scratchpad row after every row, the next parameter
  // column after every record beat.
  logic [15:0] srow_d;
  always_comb begin
    srow_d = srow_q;
    if (start) srow_d = c_row;
    else if (step && (g_last || is_prm)) srow_d = srow_q + 16'd1;
  end
  always_ff @(posedge clk_i) begin
    if (start) begin
      tgt_q  <= c_tgt;
      fill_q <= c_fill;
      len_q  <= c_len;
    end
    srow_q <= srow_d;
  end

  // ---- response side --------------------------------------------------------------
  logic                 take, write, err_seen_q, m_prm;
  logic [RowB*8-1:0]    rowbuf_q, rowbuf_d, useful, fillrow;
  logic [RowB*8+DataW-1:0] shifted;
  logic [OffW+Lg:0]     end_b;

  assign m_prm       = meta_out.tgt[1];  // PRM0 / PRM1
  assign rsp_ready_o = !meta_empty && !meta_out.pad;
  assign take        = rsp_valid_i && rsp_ready_o;
  // A padding entry is written without a response (only after the beats
  // before it, which the FIFO order guarantees).
  assign meta_pop    = take || (!meta_empty && meta_out.pad);

  always_comb begin
    // byte lo.. of the beat to row byte off..: the useful bytes, shifted into place
    shifted  = {{(RowB*8){1'b0}}, rsp_rdata_i >> {meta_out.lo, 3'b000}} << {meta_out.off, 3'b000};
    end_b    = (OffW+Lg+1)'(meta_out.off) + (OffW+Lg+1)'(meta_out.n);
    useful   = shifted[RowB*8-1:0] & ~({(RowB*8){1'b1}} << {end_b, 3'b000});
    rowbuf_d = (meta_out.first ? '0 : rowbuf_q) | useful;
    fillrow  = {RowB{meta_out.fill}} & ~({(RowB*8){1'b1}} << {meta_out.len, 3'b000});
  end

  always_ff @(posedge clk_i) begin
    if (take) rowbuf_q <= rowbuf_d;
  end

  // A row is written when its last beat arrives, or at once when it is
  // padding; never after an error.
  assign write        = !err_seen_q && !rsp_err_i && !halt_i &&
                        ((take && meta_out.last && !m_prm) || (meta_pop && meta_out.pad));
  assign act_we_o     = write && meta_out.tgt == qnpu_reg_pkg::TgtLoadAct[1:0];
  assign wgt_we_o     = write && meta_out.tgt == qnpu_reg_pkg::TgtLoadWgt[1:0];
  assign spad_waddr_o = meta_out.srow;
  assign spad_wdata_o = meta_out.pad ? fillrow : rowbuf_d;

  assign prm_we_o   = take && m_prm && !rsp_err_i && !err_seen_q && !halt_i;
  assign prm_col_o  = meta_out.srow[$clog2(Cols)-1:0];
  assign prm_bank_o = meta_out.tgt[0];
  assign prm_rec_o  = rsp_rdata_i[127:0];

  // ---- completion, errors and status -----------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)                err_seen_q <= 1'b0;
    else if (clr_i)             err_seen_q <= 1'b0;
    else if (take && rsp_err_i) err_seen_q <= 1'b1;
  end
  assign err_o      = take && rsp_err_i && !err_seen_q;
  assign err_addr_o = meta_out.addr;
  assign done_o     = meta_pop && meta_out.cmd_end && !err_seen_q && !(take && rsp_err_i) && !halt_i;

  assign busy_o  = g_active || !meta_empty;
  assign stall_o = (g_active && ((req_valid_o && !req_ready_i) || meta_full)) ||
                   (!meta_empty && !meta_out.pad && !rsp_valid_i);

  logic unused_ld;
  assign unused_ld = ^{meta_count, shifted[RowB*8 +: DataW], len_q[15:LenW], g_off[15:OffW]};

endmodule
