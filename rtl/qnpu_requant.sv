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
// qnpu_reg_pkg::Prm*).
module qnpu_requant #(
  parameter int RowW = 6  // width of the output row tag
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  // parameter record writes
  input  logic              prm_we_i,
  input  logic              prm_bank_i,
  input  logic [127:0]      prm_rec_i,
  // bias lookup for the accumulator stage
  input  logic              bias_bank_i,
  output logic [31:0]       bias_o,
  // accumulators in
  input  logic              in_valid_i,
  input  logic [RowW-1:0]   in_row_i,
  input  logic              in_bank_i,
  input  logic [31:0]       in_acc_i,
  // results out
  output logic              out_valid_o,
  output logic [RowW-1:0]   out_row_o,
  output logic [31:0]       out_data_o,  // clamped value sign-extended, or raw acc
  output logic              out_sat_o    // the clamp changed the value
);

  // ---- parameter banks ----------------------------------------------------
  logic [31:0]        bias_q  [2];
  logic signed [31:0] m0_q    [2];
  logic signed [5:0]  shift_q [2];
  logic signed [15:0] zp_q    [2];
  logic signed [15:0] amin_q  [2];
  logic signed [15:0] amax_q  [2];
  logic               byp_q   [2];

  if (qnpu_reg_pkg::PrmRecordBytes != 16 || qnpu_reg_pkg::PrmBiasWidth != 32 ||
      qnpu_reg_pkg::PrmM0Width != 32 || qnpu_reg_pkg::PrmShiftWidth != 6 ||
      qnpu_reg_pkg::PrmZpWidth != 16 || qnpu_reg_pkg::PrmActMinWidth != 16 ||
      qnpu_reg_pkg::PrmActMaxWidth != 16 || qnpu_reg_pkg::PrmFlagsWidth != 1) begin : gen_bad_record
    $error("qnpu_requant: the parameter record of regs/qnpu.json changed; update the field widths here");
  end

  always_ff @(posedge clk_i) begin
    if (prm_we_i) begin
      bias_q[prm_bank_i]  <= prm_rec_i[qnpu_reg_pkg::PrmBiasLsb +: 32];
      m0_q[prm_bank_i]    <= prm_rec_i[qnpu_reg_pkg::PrmM0Lsb +: 32];
      shift_q[prm_bank_i] <= prm_rec_i[qnpu_reg_pkg::PrmShiftLsb +: 6];
      zp_q[prm_bank_i]    <= prm_rec_i[qnpu_reg_pkg::PrmZpLsb +: 16];
      amin_q[prm_bank_i]  <= prm_rec_i[qnpu_reg_pkg::PrmActMinLsb +: 16];
      amax_q[prm_bank_i]  <= prm_rec_i[qnpu_reg_pkg::PrmActMaxLsb +: 16];
      byp_q[prm_bank_i]   <= prm_rec_i[qnpu_reg_pkg::PrmFlagsLsb];
    end
  end

  assign bias_o = bias_q[bias_bank_i];

  // ---- pipeline control (reset) and data (not reset) ------------------------
  logic [3:0] valid_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) valid_q <= '0;
    else         valid_q <= {valid_q[2:0], in_valid_i};
  end

  // Stage 1: saturating left shift.
  logic signed [5:0]  sh1;
  logic [4:0]         left1;
  logic signed [62:0] wide1;
  logic signed [31:0] a1_d;
  always_comb begin
    sh1   = shift_q[in_bank_i];
    left1 = sh1[5] ? 5'd0 : sh1[4:0];
    wide1 = {{31{in_acc_i[31]}}, in_acc_i} <<< left1;
    if (wide1 > 63'sh7FFF_FFFF)       a1_d = 32'sh7FFF_FFFF;
    else if (wide1 < -63'sh8000_0000) a1_d = 32'sh8000_0000;
    else                              a1_d = wide1[31:0];
  end

  logic signed [31:0] a1_q, acc1_q;
  logic               bank1_q;
  logic [RowW-1:0]    row1_q;
  always_ff @(posedge clk_i) begin
    a1_q    <= a1_d;
    acc1_q  <= in_acc_i;
    bank1_q <= in_bank_i;
    row1_q  <= in_row_i;
  end

  // Stage 2: the 32x32 product.
  logic signed [31:0] m0_2;
  logic signed [63:0] prod2_d;
  assign m0_2    = m0_q[bank1_q];
  assign prod2_d = a1_q * m0_2;

  logic signed [63:0] prod2_q;
  logic               both_min2_q;
  logic signed [31:0] acc2_q;
  logic               bank2_q;
  logic [RowW-1:0]    row2_q;
  always_ff @(posedge clk_i) begin
    prod2_q     <= prod2_d;
    both_min2_q <= (a1_q == 32'sh8000_0000) && (m0_2 == 32'sh8000_0000);
    acc2_q      <= acc1_q;
    bank2_q     <= bank1_q;
    row2_q      <= row1_q;
  end

  // Stage 3: SRDHM, then RDBPOT.
  logic signed [63:0] nudged3;
  logic signed [31:0] t3;
  logic signed [5:0]  sh3;
  logic [4:0]         right3;
  logic [31:0]        mask3, rem3, thr3;
  logic signed [31:0] q3, y3_d;
  always_comb begin
    nudged3 = prod2_q + 64'sd1073741824;
    t3      = both_min2_q ? 32'sh7FFF_FFFF : nudged3[62:31];
    sh3     = shift_q[bank2_q];
    right3  = sh3[5] ? 5'(-sh3) : 5'd0;
    mask3   = (32'd1 << right3) - 32'd1;
    rem3    = t3 & mask3;
    thr3    = (mask3 >> 1) + {31'd0, t3[31]};
    // Shift in a signed expression of its own: mixed with an unsigned operand
    // ">>>" would turn into a logical shift.
    q3      = t3 >>> right3;
    y3_d    = q3 + {31'd0, rem3 > thr3};
  end

  logic signed [31:0] y3_q, acc3_q;
  logic               bank3_q;
  logic [RowW-1:0]    row3_q;
  always_ff @(posedge clk_i) begin
    y3_q    <= y3_d;
    acc3_q  <= acc2_q;
    bank3_q <= bank2_q;
    row3_q  <= row2_q;
  end

  // Stage 4: zero point, clamp, or bypass.
  logic signed [32:0] z4;
  logic signed [32:0] lo4, hi4;
  logic [31:0]        out4_d;
  logic               sat4_d;
  always_comb begin
    z4  = {y3_q[31], y3_q} + {{17{zp_q[bank3_q][15]}}, zp_q[bank3_q]};
    lo4 = {{17{amin_q[bank3_q][15]}}, amin_q[bank3_q]};
    hi4 = {{17{amax_q[bank3_q][15]}}, amax_q[bank3_q]};
    sat4_d = 1'b0;
    if (byp_q[bank3_q]) begin
      out4_d = acc3_q;
    end else if (z4 < lo4) begin
      out4_d = lo4[31:0];
      sat4_d = 1'b1;
    end else if (z4 > hi4) begin
      out4_d = hi4[31:0];
      sat4_d = 1'b1;
    end else begin
      out4_d = z4[31:0];
    end
  end

  logic [31:0]     out_q;
  logic            sat_q;
  logic [RowW-1:0] row4_q;
  always_ff @(posedge clk_i) begin
    out_q  <= out4_d;
    sat_q  <= sat4_d;
    row4_q <= row3_q;
  end

  assign out_valid_o = valid_q[3];
  assign out_row_o   = row4_q;
  assign out_data_o  = out_q;
  assign out_sat_o   = sat_q & valid_q[3];

  // Record bits outside the fields: the top 2 bits of the shift byte and
  // the 7 spare flag bits.
  logic unused_bits;
  assign unused_bits = ^{nudged3[63], nudged3[30:0], wide1[62:32],
                         prm_rec_i[qnpu_reg_pkg::PrmShiftLsb + 6 +: 2],
                         prm_rec_i[qnpu_reg_pkg::PrmFlagsLsb + 1 +: 7]};

endmodule
