// qnpu_requant.sv - one column's requantization unit, 4-stage pipeline,
// one result per cycle. Bit-exact with qnpu_golden_requantize():
//
//   a   = saturate_int32(acc << max(shift, 0))     (acc already holds the bias)
//   t   = SRDHM(a, M0)   = (a*M0 + 2^30) >>> 31, INT32_MIN*INT32_MIN -> INT32_MAX
//   y   = RDBPOT(t, max(-shift, 0))            (round half away from zero)
//   out = clamp(y + zp, act_min, act_max)      (or acc itself in bypass mode)
//
// Two banks of parameters; every accumulator names its bank, so software
// writes the idle bank for the next output tile while this one drains. A
// bank is written a whole 16-byte record at a time (layout: regs/qnpu.json,
// qnpu_reg_pkg::Prm*). The stages' valid bits are the caller's (qnpu_core
// keeps one shift register for all columns): vld_i[0] says an accumulator
// arrives, vld_i[s] that stage s holds a row; out_* are valid one cycle
// after vld_i[3].
module qnpu_requant #(
  parameter int RowW = 6  // width of the output row tag
) (
  input  logic              clk_i,
  // parameter record writes
  input  logic              prm_we_i,
  input  logic              prm_bank_i,
  input  logic [127:0]      prm_rec_i,
  // the biases of both banks, for the accumulator
  output logic [31:0]       bias0_o,
  output logic [31:0]       bias1_o,
  // accumulators in, and the stages' valid bits
  input  logic [3:0]        vld_i,
  input  logic [RowW-1:0]   in_row_i,
  input  logic              in_bank_i,
  input  logic [31:0]       in_acc_i,
  // results out
  output logic [RowW-1:0]   out_row_o,
  output logic [31:0]       out_data_o,  // clamped value sign-extended, or raw acc
  output logic              out_sat_o    // the clamp changed the value (when valid)
);

  // ---- parameter banks: two registers of the decoded record -----------------
  typedef struct packed {
    logic [31:0]        bias;
    logic signed [31:0] m0;
    logic signed [5:0]  shift;
    logic signed [15:0] zp, amin, amax;
    logic               byp;
  } prm_t;
  prm_t prm0_q, prm1_q, rec;

  if (qnpu_reg_pkg::PrmRecordBytes != 16 || qnpu_reg_pkg::PrmBiasWidth != 32 ||
      qnpu_reg_pkg::PrmM0Width != 32 || qnpu_reg_pkg::PrmShiftWidth != 6 ||
      qnpu_reg_pkg::PrmZpWidth != 16 || qnpu_reg_pkg::PrmActMinWidth != 16 ||
      qnpu_reg_pkg::PrmActMaxWidth != 16 || qnpu_reg_pkg::PrmFlagsWidth != 1) begin : gen_bad_record
    $error("qnpu_requant: the parameter record of regs/qnpu.json changed; update the field widths here");
  end

  always_comb begin
    rec.bias  = prm_rec_i[qnpu_reg_pkg::PrmBiasLsb +: 32];
    rec.m0    = prm_rec_i[qnpu_reg_pkg::PrmM0Lsb +: 32];
    rec.shift = prm_rec_i[qnpu_reg_pkg::PrmShiftLsb +: 6];
    rec.zp    = prm_rec_i[qnpu_reg_pkg::PrmZpLsb +: 16];
    rec.amin  = prm_rec_i[qnpu_reg_pkg::PrmActMinLsb +: 16];
    rec.amax  = prm_rec_i[qnpu_reg_pkg::PrmActMaxLsb +: 16];
    rec.byp   = prm_rec_i[qnpu_reg_pkg::PrmFlagsLsb];
  end

  always_ff @(posedge clk_i) begin
    if (prm_we_i) begin
      if (prm_bank_i) prm1_q <= rec;
      else            prm0_q <= rec;
    end
  end

  assign bias0_o = prm0_q.bias;
  assign bias1_o = prm1_q.bias;

  // ---- the arithmetic of each stage ---------------------------------------------
  // Stage 1: saturating left shift by max(shift, 0).
  function automatic logic signed [31:0] sat_lshift(logic signed [31:0] acc, logic signed [5:0] sh);
    logic signed [62:0] wide;
    wide = {{31{acc[31]}}, acc} <<< (sh[5] ? 5'd0 : sh[4:0]);
    if (wide > 63'sh7FFF_FFFF)       sat_lshift = 32'sh7FFF_FFFF;
    else if (wide < -63'sh8000_0000) sat_lshift = 32'sh8000_0000;
    else                             sat_lshift = wide[31:0];
  endfunction

  // Stage 3: SRDHM of the product, then RDBPOT by max(-shift, 0) (ties away
  // from zero). both_min: a = M0 = INT32_MIN, which saturates.
  function automatic logic signed [31:0] srdhm_rdbpot(logic signed [63:0] prod, logic both_min,
                                                       logic signed [5:0] sh);
    logic signed [63:0] nudged;
    logic signed [31:0] t, q;
    logic [4:0]         right;
    logic [31:0]        mask, rem, thr;
    nudged = prod + 64'sd1073741824;
    t      = both_min ? 32'sh7FFF_FFFF : nudged[62:31];
    right  = sh[5] ? 5'(-sh) : 5'd0;
    mask   = (32'd1 << right) - 32'd1;
    rem    = t & mask;
    thr    = (mask >> 1) + {31'd0, t[31]};
    // Shift in a signed expression of its own: mixed with an unsigned
    // operand ">>>" would turn into a logical shift.
    q      = t >>> right;
    srdhm_rdbpot = q + {31'd0, rem > thr};
  endfunction

  // Stage 4: + zero point, clamp to [lo, hi] (or the raw accumulator in
  // bypass); the top bit says the clamp changed the value.
  function automatic logic [32:0] zp_clamp(logic signed [31:0] y, logic signed [15:0] zp, logic signed [15:0] lo,
                                           logic signed [15:0] hi, logic bypass, logic [31:0] acc);
    logic signed [32:0] z;
    z = {y[31], y} + 33'(zp);
    if (bypass)           zp_clamp = {1'b0, acc};
    else if (z < 33'(lo)) zp_clamp = {1'b1, 32'(lo)};
    else if (z > 33'(hi)) zp_clamp = {1'b1, 32'(hi)};
    else                  zp_clamp = {1'b0, z[31:0]};
  endfunction

  // ---- the pipeline: data registers loaded only when their stage is valid
  // (idle columns cost nothing, in silicon as in Verilator).

  logic signed [31:0] a1_q, acc1_q, acc2_q, y3_q, acc3_q;
  logic signed [63:0] prod2_q;
  logic               bank1_q, bank2_q, bank3_q, both_min2_q, sat_q;
  logic [RowW-1:0]    row1_q, row2_q, row3_q, row4_q;
  logic [31:0]        out_q;

  // The stages in reverse order, so that each register is read before it is
  // written (Verilator then needs no shadow copies of them).
  always_ff @(posedge clk_i) begin
    if (vld_i[3]) begin                         // 4: zero point, clamp, bypass
      {sat_q, out_q} <= bank3_q ? zp_clamp(y3_q, prm1_q.zp, prm1_q.amin, prm1_q.amax, prm1_q.byp, acc3_q)
                                : zp_clamp(y3_q, prm0_q.zp, prm0_q.amin, prm0_q.amax, prm0_q.byp, acc3_q);
      row4_q <= row3_q;
    end
    if (vld_i[2]) begin                         // 3: SRDHM, RDBPOT
      y3_q    <= srdhm_rdbpot(prod2_q, both_min2_q, bank2_q ? $signed(prm1_q.shift) : $signed(prm0_q.shift));
      acc3_q  <= acc2_q;
      bank3_q <= bank2_q;
      row3_q  <= row2_q;
    end
    if (vld_i[1]) begin                         // 2: the 32x32 product
      prod2_q     <= 64'(a1_q) * 64'($signed(bank1_q ? prm1_q.m0 : prm0_q.m0));
      both_min2_q <= a1_q == 32'sh8000_0000 && (bank1_q ? prm1_q.m0 : prm0_q.m0) == 32'sh8000_0000;
      acc2_q      <= acc1_q;
      bank2_q     <= bank1_q;
      row2_q      <= row1_q;
    end
    if (vld_i[0]) begin                         // 1: saturating left shift
      a1_q    <= sat_lshift(in_acc_i, in_bank_i ? $signed(prm1_q.shift) : $signed(prm0_q.shift));
      acc1_q  <= in_acc_i;
      bank1_q <= in_bank_i;
      row1_q  <= in_row_i;
    end
  end

  assign out_row_o  = row4_q;
  assign out_data_o = out_q;
  assign out_sat_o  = sat_q;

  // Record bits outside the fields: the top 2 bits of the shift byte and
  // the 7 spare flag bits.
  logic unused_bits;
  assign unused_bits = ^{prm_rec_i[qnpu_reg_pkg::PrmShiftLsb + 6 +: 2],
                         prm_rec_i[qnpu_reg_pkg::PrmFlagsLsb + 1 +: 7]};

endmodule
