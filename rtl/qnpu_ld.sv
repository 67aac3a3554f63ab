// qnpu_ld.sv - the load engine: executes LOAD commands.
//
// A LOAD copies COUNT2 x COUNT1 rows of LEN bytes from DRAM (row address
// DRAM_ADDR + i2*STRIDE2 + i1*STRIDE1, any byte alignment) into consecutive
// scratchpad rows from SPAD_ROW on, zero-padding each row. Requests run
// ahead of responses (up to MaxOut in flight); a metadata FIFO tells the
// in-order response side where each beat's bytes go. Target PRM0/PRM1 reads
// Cols 16-byte records (bias, M0, shift, flags, zp, act_min, act_max) into
// one requantization-parameter bank. Fields were validated by the dispatcher.
module qnpu_ld #(
  parameter int Rows    = 4,    // activation row bytes
  parameter int Cols    = 4,    // weight row bytes; parameter records
  parameter int DataW   = 128,  // memory-port bits
  parameter int MaxOut  = 64    // requests in flight
) (
  input  logic                clk_i,
  input  logic                rst_ni,
  input  logic                halt_i,      // stop issuing, drain, drop the command
  // command
  input  logic                cmd_valid_i,
  output logic                cmd_ready_o,
  input  logic [255:0]        cmd_i,
  output logic                done_o,      // the command completed
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
  output logic [16-1:0]   spad_waddr_o,
  output logic [RowB*8-1:0]   spad_wdata_o,  // low Rows / Cols bytes used
  // requantization parameters
  output logic                prm_we_o,
  output logic [$clog2(Cols)-1:0] prm_col_o,
  output logic                prm_bank_o,
  output logic [2:0]          prm_field_o,
  output logic [31:0]         prm_wdata_o,
  // status
  output logic                busy_o,
  output logic                stall_o,
  output logic                err_o,       // a response carried an error (pulse)
  output logic [31:0]         err_addr_o
);

  localparam int Bytes = DataW / 8;
  localparam int Lg    = $clog2(Bytes);
  localparam int RowB  = (Rows > Cols) ? Rows : Cols;
  localparam int OffW  = $clog2(16 * Cols + 1);

  // ---- command fields ----------------------------------------------------------
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

  // ---- request side ----------------------------------------------------------------
  logic        active_q, issuing_q;
  logic [2:0]  tgt_q;
  logic [15:0] len_q, cnt1_q, cnt2_q, i1_q, i2_q;
  logic [31:0] str1_q, str2_q, outer_q, rowa_q, beat_q;
  logic [16-1:0] srow_q;

  // The beat at beat_q of the row starting at rowa_q.
  logic [32:0] row_end;
  logic [31:0] beat_lo_addr;
  logic [Lg:0] lo, hi, n;
  logic        last_beat, first_beat;
  always_comb begin
    row_end      = {1'b0, rowa_q} + {17'd0, len_q};
    first_beat   = (beat_q == {rowa_q[31:Lg], {Lg{1'b0}}});
    beat_lo_addr = first_beat ? rowa_q : beat_q;
    lo           = first_beat ? {1'b0, rowa_q[Lg-1:0]} : '0;
    last_beat    = ({1'b0, beat_q} + 33'(Bytes)) >= row_end;
    hi           = last_beat ? (Lg+1)'(row_end - {1'b0, beat_q}) : (Lg+1)'(Bytes);
    n            = hi - lo;
  end

  // Metadata of one request, in flight with it.
  typedef struct packed {
    logic [31:0]       addr;     // beat address (for error reports)
    logic [16-1:0] srow;     // destination scratchpad row (PRM: column)
    logic [Lg:0]       lo;       // first useful byte in the beat
    logic [Lg:0]       n;        // useful bytes
    logic [OffW-1:0]   off;      // where they go in the row
    logic              first;    // first beat of its row
    logic              last;     // last beat of its row
  } meta_t;

  meta_t meta_in, meta_out;
  logic  meta_empty, meta_full, meta_pop;
  logic [$clog2(MaxOut+1)-1:0] meta_count;

  always_comb begin
    meta_in.addr  = beat_q;
    meta_in.srow  = srow_q;
    meta_in.lo    = lo;
    meta_in.n     = n;
    meta_in.off   = OffW'(beat_lo_addr - rowa_q);
    meta_in.first = first_beat;
    meta_in.last  = last_beat;
  end

  assign req_valid_o = issuing_q && !halt_i && !meta_full;
  assign req_addr_o  = beat_q;

  logic fire;
  assign fire = req_valid_o && req_ready_i;

  localparam int MetaW = 32 + 16 + 2 * (Lg + 1) + OffW + 2;  // bits of meta_t
  qnpu_fifo #(.Width(MetaW), .Depth(MaxOut)) u_meta (
    .clk_i,
    .rst_ni,
    .clr_i   (1'b0),
    .push_i  (fire),
    .data_i  (meta_in),
    .pop_i   (meta_pop),
    .data_o  (meta_out),
    .empty_o (meta_empty),
    .full_o  (meta_full),
    .count_o (meta_count)
  );

  logic [31:0] next_outer, next_row;
  assign next_outer = outer_q + str2_q;
  assign next_row   = rowa_q + str1_q;

  logic start;
  assign cmd_ready_o = !active_q;
  assign start       = cmd_valid_i && cmd_ready_o && !halt_i;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q  <= 1'b0;
      issuing_q <= 1'b0;
    end else if (start) begin
      active_q  <= 1'b1;
      issuing_q <= 1'b1;
    end else begin
      if (halt_i) issuing_q <= 1'b0;
      else if (fire && last_beat && i1_q + 16'd1 == cnt1_q && i2_q + 16'd1 == cnt2_q) issuing_q <= 1'b0;
      if (active_q && !issuing_q && meta_empty && !prm_busy) active_q <= 1'b0;
    end
  end

  always_ff @(posedge clk_i) begin
    if (start) begin
      tgt_q  <= c_target;
      len_q  <= c_len;
      cnt1_q <= c_cnt1;
      cnt2_q <= c_cnt2;
      str1_q <= c_str1;
      str2_q <= c_str2;
      i1_q   <= '0;
      i2_q   <= '0;
      outer_q <= c_addr;
      rowa_q <= c_addr;
      beat_q <= {c_addr[31:Lg], {Lg{1'b0}}};
      srow_q <= c_row;
    end else if (fire) begin
      if (!last_beat) begin
        beat_q <= beat_q + 32'(Bytes);
      end else begin
        // next row
        srow_q <= srow_q + 1'b1;
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
      // For PRM targets every beat is one column's record.
      if (tgt_q == qnpu_reg_pkg::TgtLoadPrm0 || tgt_q == qnpu_reg_pkg::TgtLoadPrm1) srow_q <= srow_q + 1'b1;
    end
  end

  // ---- response side -----------------------------------------------------------
  logic            is_prm;
  logic [RowB*8-1:0] rowbuf_q, rowbuf_d;
  logic            prm_busy;
  logic [2:0]      prm_field_q;
  logic [DataW-1:0] prm_rec_q;
  logic [$clog2(Cols)-1:0] prm_col_q;

  assign is_prm = (tgt_q == qnpu_reg_pkg::TgtLoadPrm0) || (tgt_q == qnpu_reg_pkg::TgtLoadPrm1);

  assign rsp_ready_o = !meta_empty && !prm_busy;
  logic take;
  assign take     = rsp_valid_i && rsp_ready_o;
  assign meta_pop = take;

  always_comb begin
    rowbuf_d = meta_out.first ? '0 : rowbuf_q;
    for (int b = 0; b < Bytes; b++) begin
      // byte b of the beat goes to row byte off + b - lo, if it is useful
      logic [15:0] bb, dst;
      bb  = 16'(b);
      dst = 16'(meta_out.off) + bb - 16'(meta_out.lo);
      if (bb >= 16'(meta_out.lo) && bb < 16'(meta_out.lo) + 16'(meta_out.n)) begin
        for (int d = 0; d < RowB; d++)
          if (dst == 16'(d)) rowbuf_d[d*8 +: 8] = rsp_rdata_i[b*8 +: 8];
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (take && !is_prm) rowbuf_q <= rowbuf_d;
    if (take && is_prm) begin
      prm_rec_q <= rsp_rdata_i;
      prm_col_q <= meta_out.srow[$clog2(Cols)-1:0];
    end
  end

  // Scratchpad write when a row's last beat arrives (not after an error).
  logic err_seen_q;
  assign act_we_o     = take && !is_prm && meta_out.last && tgt_q == qnpu_reg_pkg::TgtLoadAct && !rsp_err_i && !err_seen_q;
  assign wgt_we_o     = take && !is_prm && meta_out.last && tgt_q == qnpu_reg_pkg::TgtLoadWgt && !rsp_err_i && !err_seen_q;
  assign spad_waddr_o = meta_out.srow;
  assign spad_wdata_o = rowbuf_d;

  // Parameter records: seven field writes per record.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      prm_busy    <= 1'b0;
      prm_field_q <= '0;
    end else if (take && is_prm && !rsp_err_i && !err_seen_q && !halt_i) begin
      prm_busy    <= 1'b1;
      prm_field_q <= '0;
    end else if (prm_busy) begin
      if (prm_field_q == 3'd6 || halt_i) prm_busy <= 1'b0;
      prm_field_q <= prm_field_q + 3'd1;
    end
  end

  always_comb begin
    unique case (prm_field_q)
      3'd0:    prm_wdata_o = prm_rec_q[31:0];                              // bias
      3'd1:    prm_wdata_o = prm_rec_q[63:32];                             // M0
      3'd2:    prm_wdata_o = {{24{prm_rec_q[71]}}, prm_rec_q[71:64]};      // shift
      3'd3:    prm_wdata_o = {{16{prm_rec_q[95]}}, prm_rec_q[95:80]};      // zero point
      3'd4:    prm_wdata_o = {{16{prm_rec_q[111]}}, prm_rec_q[111:96]};    // act_min
      3'd5:    prm_wdata_o = {{16{prm_rec_q[127]}}, prm_rec_q[127:112]};   // act_max
      default: prm_wdata_o = {24'd0, prm_rec_q[79:72]};                    // flags
    endcase
  end
  assign prm_we_o    = prm_busy;
  assign prm_col_o   = prm_col_q;
  assign prm_bank_o  = (tgt_q == qnpu_reg_pkg::TgtLoadPrm1);
  assign prm_field_o = prm_field_q;

  // ---- errors and status ---------------------------------------------------------
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)    err_seen_q <= 1'b0;
    else if (start) err_seen_q <= 1'b0;
    else if (take && rsp_err_i) err_seen_q <= 1'b1;
  end
  assign err_o      = take && rsp_err_i && !err_seen_q;
  assign err_addr_o = meta_out.addr;

  assign done_o  = active_q && !issuing_q && meta_empty && !prm_busy && !err_seen_q && !halt_i;
  assign busy_o  = active_q;
  assign stall_o = active_q && ((req_valid_o && !req_ready_i) || (!meta_empty && !rsp_valid_i) ||
                                (issuing_q && meta_full));

  logic unused_ld;
  assign unused_ld = ^meta_count;

endmodule
