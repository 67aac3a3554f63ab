// qnpu_requant.sv - one column's requantization unit, a 4-stage pipeline
// (5 when it serves several columns), one result per cycle. Bit-exact with qnpu_golden_requantize(), in
// TFLite's Q31 mode:
//
//   a   = saturate_int32(acc << max(shift, 0))     (acc already holds the bias)
//   t   = SRDHM(a, M0)   = (a*M0 + 2^30) >>> 31, INT32_MIN*INT32_MIN -> INT32_MAX
//   y   = RDBPOT(t, max(-shift, 0))            (round half away from zero)
//   out = clamp(y + zp, act_min, act_max)      (or acc itself in bypass mode)
//
// and (ReqF32, record FLAGS bit 1) in ONNX Runtime's float32 mode, with the
// float32 scale s in the M0 field, in integer logic and no floating-point
// unit - every rounding half to even:
//
//   1: f = float32(acc): |acc| normalized and rounded to 24 significant bits
//   2: the 24 x 24-bit product of f's and s's significands (the Q31 path's
//      multiplier, its operands narrowed)
//   3: the product rounded to 24 bits (float32), then to an integer;
//      saturated to int32 (an overflowing float32 product too)
//   4: + zp, clamp, as above
//
// A zero or subnormal s gives 0 (|acc x s| < 2^-95 rounds to 0 anyway);
// NaN and infinite s are out of contract (the runtime refuses them).
//
// Two banks of parameters; every accumulator names its bank, so software
// writes the idle bank for the next output tile while this one drains. A
// bank is written a whole 16-byte record at a time (layout: regs/qnpu.json,
// qnpu_reg_pkg::Prm*). The stages' valid bits are the caller's (qnpu_core
// keeps one shift register for all columns): vld_i[0] says an accumulator
// arrives, vld_i[s] that stage s holds a row; out_* are valid one cycle
// after vld_i[Stages-1].
//
// A unit may serve Slots columns (qnpu_core's ReqShare): it then holds both
// banks of every column's parameters, and each accumulator names its column
// (in_slot_i) as well as its bank. Such a unit has no fixed latency to keep
// (its results leave through the core's drain) and splits stage 3 in two:
// the rounding add, then the shift (the longest path of the unit, on an
// iCE40 as in a standard-cell flow).
module qnpu_requant #(
  parameter int RowW   = 6,  // width of the output row tag
  parameter int ReqF32 = 1,  // 1: the float32 (ONNX Runtime) path beside the Q31 one
  parameter int Slots  = 1,  // columns served
  localparam int SlotW = Slots > 1 ? $clog2(Slots) : 1,
  localparam int Stages = Slots > 1 ? 5 : 4,  // pipeline stages
  localparam int PrmW  = qnpu_reg_pkg::PrmBiasWidth + qnpu_reg_pkg::PrmM0Width + qnpu_reg_pkg::PrmShiftWidth +
                         qnpu_reg_pkg::PrmZpWidth + qnpu_reg_pkg::PrmActMinWidth + qnpu_reg_pkg::PrmActMaxWidth +
                         qnpu_reg_pkg::PrmFlagsWidth  // a decoded record, bias in the top bits
) (
  input  logic              clk_i,
  // parameter record writes
  input  logic              prm_we_i,
  input  logic              prm_bank_i,
  input  logic [SlotW-1:0]  prm_slot_i,
  input  logic [127:0]      prm_rec_i,
  // the biases of both banks of column 0, for an accumulator that adds them
  output logic [31:0]       bias0_o,
  output logic [31:0]       bias1_o,
  // Slots > 1: the decoded record of any column and bank, a cycle after
  // it is named (the only read of the parameter store, a synchronous one;
  // the caller adds its bias and hands the record back with the
  // accumulator, in_prm_i)
  input  logic              bsel_bank_i,
  input  logic [SlotW-1:0]  bsel_slot_i,
  output logic [PrmW-1:0]   bsel_rec_o,
  // accumulators in, and the stages' valid bits
  input  logic [Stages-1:0] vld_i,
  input  logic [RowW-1:0]   in_row_i,
  input  logic              in_bank_i,
  input  logic [SlotW-1:0]  in_slot_i,
  input  logic [PrmW-1:0]   in_prm_i,
  input  logic [31:0]       in_acc_i,
  // results out
  output logic [RowW-1:0]   out_row_o,
  output logic [31:0]       out_data_o,  // clamped value sign-extended, or raw acc
  output logic              out_sat_o    // the clamp changed the value (when valid)
);

  // ---- parameter banks: two registers of the decoded record -----------------
  typedef struct packed {
    logic [31:0]        bias;
    logic signed [31:0] m0;     // or the float32 scale's bits (f32)
    logic signed [5:0]  shift;
    logic signed [15:0] zp, amin, amax;
    logic               byp;
    logic               f32;    // float32 requantization (0 when not built)
  } prm_t;
  prm_t rec;
  // Both banks of every column's record: entry {bank, slot} (bank alone
  // for one column).
  localparam int IdxW = Slots > 1 ? SlotW + 1 : 1;

  if (qnpu_reg_pkg::PrmRecordBytes != 16 || qnpu_reg_pkg::PrmBiasWidth != 32 ||
      qnpu_reg_pkg::PrmM0Width != 32 || qnpu_reg_pkg::PrmShiftWidth != 6 ||
      qnpu_reg_pkg::PrmZpWidth != 16 || qnpu_reg_pkg::PrmActMinWidth != 16 ||
      qnpu_reg_pkg::PrmActMaxWidth != 16 || qnpu_reg_pkg::PrmFlagsWidth != 2) begin : gen_bad_record
    $error("qnpu_requant: the parameter record of regs/qnpu.json changed; update the field widths here");
  end

  // The one decoder of a record: the one written (one column, decoded
  // records stored) or the one read (several columns, raw records stored).
  logic [127:0] dec_in, raw;
  assign dec_in = Slots > 1 ? raw : prm_rec_i;
  always_comb begin
    rec.bias  = dec_in[qnpu_reg_pkg::PrmBiasLsb +: 32];
    rec.m0    = dec_in[qnpu_reg_pkg::PrmM0Lsb +: 32];
    rec.shift = dec_in[qnpu_reg_pkg::PrmShiftLsb +: 6];
    rec.zp    = dec_in[qnpu_reg_pkg::PrmZpLsb +: 16];
    rec.amin  = dec_in[qnpu_reg_pkg::PrmActMinLsb +: 16];
    rec.amax  = dec_in[qnpu_reg_pkg::PrmActMaxLsb +: 16];
    rec.byp   = dec_in[qnpu_reg_pkg::PrmFlagsLsb];
    rec.f32   = ReqF32 != 0 && dec_in[qnpu_reg_pkg::PrmFlagsLsb + 1];
  end

  logic [IdxW-1:0] i_we, i_bs, i0, i1, i2, i3;  // the entries written, read for a bias, used by each stage
  logic             bank1_q, bank2_q, bank3_q;
  logic [SlotW-1:0] slot1_q, slot2_q, slot3_q;
  if (Slots > 1) begin : gen_idx
    assign i_we = {prm_bank_i, prm_slot_i};
    assign i_bs = {bsel_bank_i, bsel_slot_i};
    assign i0   = {in_bank_i, in_slot_i};
    assign i1   = {bank1_q, slot1_q};
    assign i2   = {bank2_q, slot2_q};
    assign i3   = {bank3_q, slot3_q};
  end else begin : gen_idx1
    assign i_we = prm_bank_i;
    assign i_bs = bsel_bank_i;
    assign i0   = in_bank_i;
    assign i1   = bank1_q;
    assign i2   = bank2_q;
    assign i3   = bank3_q;
    logic unused_slots;
    assign unused_slots = ^{prm_slot_i, bsel_slot_i, in_slot_i, slot1_q, slot2_q, slot3_q};
  end

  // The parameter store. One column: two decoded records, read by every
  // stage. Several columns: the records as written (2 x Slots x 128 bits,
  // a one-write one-read memory with a synchronous read, as block RAM and
  // SRAM macros have) decoded after the one read.
  prm_t pb0, pb1, pbs;
  logic [$bits(rec)-1:0] prm_q [2];  // Slots == 1
  if (Slots > 1) begin : gen_store_raw
    // no_rw_check: software writes only the bank no row in flight names.
    (* no_rw_check *) logic [127:0] raw_q [2*Slots];
    logic [127:0] rd_q;
    always_ff @(posedge clk_i) begin
      if (prm_we_i) raw_q[i_we] <= prm_rec_i;
      rd_q <= raw_q[i_bs];
    end
    assign raw = rd_q;
    assign pbs = rec;
    assign pb0 = '0;
    assign pb1 = '0;
    assign prm_q[0] = '0;
    assign prm_q[1] = '0;
    logic unused_raw;
    assign unused_raw = ^{raw[qnpu_reg_pkg::PrmShiftLsb + 6 +: 2], raw[qnpu_reg_pkg::PrmFlagsLsb + 2 +: 6],
                          prm_q[0], prm_q[1]};
  end else begin : gen_store_dec
    always_ff @(posedge clk_i) begin
      if (prm_we_i) prm_q[i_we] <= rec;
    end
    assign pb0 = prm_q[0];
    assign pb1 = prm_q[1];
    assign pbs = prm_q[i_bs];
    assign raw = '0;
  end
  assign bias0_o    = pb0.bias;
  assign bias1_o    = pb1.bias;
  assign bsel_rec_o = pbs;

  // ---- the arithmetic of each stage ---------------------------------------------
  // Stage 1: saturating left shift by n = max(shift, 0). It overflows when
  // one of the n bits below acc's sign bit differs from it.
  function automatic logic signed [31:0] sat_lshift(logic signed [31:0] acc, logic signed [5:0] sh);
    logic [4:0]  n;
    logic [30:0] x, top;
    n   = sh[5] ? 5'd0 : sh[4:0];
    x   = acc[30:0] ^ {31{acc[31]}};
    top = ~(31'h7FFF_FFFF >> n);             // bits 30 .. 31-n
    if ((x & top) == 31'd0) sat_lshift = acc <<< n;
    else                    sat_lshift = acc[31] ? 32'sh8000_0000 : 32'sh7FFF_FFFF;
  endfunction

  // Stage 3: SRDHM of the product, then RDBPOT by r = max(-shift, 0) (ties
  // away from zero). both_min: a = M0 = INT32_MIN, which saturates to
  // INT32_MAX (prod = 2^62 has bit 30 clear, so the carry below is 0).
  // Otherwise |prod| < 2^62, so SRDHM is t = prod[62:31] + prod[30] (no
  // overflow), and RDBPOT(t, r) = (t + k) >>> r with k = 2^(r-1) - (t < 0)
  // for r > 0 and 0 for r = 0: one add (t's increment as its carry in),
  // here, and one shift (srdhm_add(...) >>> r). Stage 2 forms k, taking the
  // sign of t from the operands' (a1[31] ^ M0[31]): they differ only when
  // t = 0, and 0 + k shifts to 0 with either k.
  function automatic logic signed [32:0] srdhm_add(logic [62:30] prod, logic both_min, logic [31:0] k);
    logic [31:0] p;
    p         = both_min ? 32'h7FFF_FFFF : prod[62:31];
    srdhm_add = $signed({p[31], p} + {1'b0, k} + 33'(prod[30]));
  endfunction

  // 2^r - 1, bit by bit (a decoder, not a subtraction).
  function automatic logic [31:0] low_mask(logic [4:0] r);
    for (int i = 0; i < 32; i++) low_mask[i] = 5'(i) < r;
  endfunction
  // Stage 2: the rounding addend k (above) for exponent r: 2^(r-1), or
  // 2^(r-1) - 1 when t < 0 (0 for r = 0).
  function automatic logic [31:0] rnd_k(logic [4:0] r, logic neg);
    logic [31:0] m;
    m     = low_mask(r);
    rnd_k = neg ? m >> 1 : m ^ (m >> 1);
  endfunction

  // ---- the float32 path ----------------------------------------------------------
  // Stage 1: acc as float32, packed into the 32-bit stage register:
  // {zero, sign, e[5:0], m[23:0]}, value = m * 2^(e - 23), m in [2^23, 2^24).
  function automatic logic [31:0] to_f32(logic signed [31:0] acc);
    logic [31:0] mag, norm;
    logic [24:0] m;
    logic [5:0]  lz, e;
    logic        carry;
    mag  = acc[31] ? 32'(-acc) : 32'(acc);  // |INT32_MIN| = 2^31 fits unsigned
    lz   = 6'd32;
    for (int b = 0; b < 32; b++)
      if (mag[b]) lz = 6'(31 - b);
    norm  = mag << lz[4:0];
    // 24 bits, half to even: guard norm[7], sticky norm[6:0], lsb norm[8]
    m     = {1'b0, norm[31:8]} + 25'(norm[7] && (norm[6:0] != 7'd0 || norm[8]));
    carry = m[24];
    e     = 6'd31 - lz + {5'd0, carry};
    to_f32 = {mag == 32'd0, acc[31], e, carry ? 24'h800000 : m[23:0]};
  endfunction

  // Stage 2's operands: the significands, as non-negative 32-bit values.
  function automatic logic signed [31:0] sig_of_f32(logic [30:0] bits);
    sig_of_f32 = {8'd0, bits[30:23] != 8'd0, bits[22:0]};
  endfunction

  // Stage 3: the 48-bit significand product p of f = {zero, sign, e} and s
  // = {sign, exponent}, rounded to float32, then to an integer; saturated
  // to int32.
  function automatic logic signed [31:0] f32_round(logic [47:0] p, logic [7:0] f, logic [8:0] s);
    logic [24:0]        mr;
    logic [23:0]        mp;
    logic               hi, g, st, c2;
    logic signed [10:0] ex;      // the float32 product's exponent
    logic [47:0]        q48;
    logic [4:0]         k;
    logic [31:0]        q;
    hi = p[47];
    g  = hi ? p[23] : p[22];
    st = hi ? p[22:0] != 23'd0 : p[21:0] != 22'd0;
    mr = {1'b0, hi ? p[47:24] : p[46:23]} + 25'(g && (st || (hi ? p[24] : p[23])));
    c2 = mr[24];
    mp = c2 ? 24'h800000 : mr[23:0];
    ex = 11'(f[5:0]) + 11'(s[7:0]) - 11'sd127 + 11'(hi) + 11'(c2);
    k  = 5'd0;
    q  = 32'd0;
    if (ex >= 11'sd31) begin                 // |value| >= 2^31 (or a float32 overflow)
      q = 32'h8000_0000;
    end else if (ex >= 11'sd23) begin        // an integer already
      q = 32'(mp) << (ex - 11'sd23);
    end else if (ex >= -11'sd1) begin        // value >= 0.5: half to even at bit k
      k   = 5'(11'sd23 - ex);
      q48 = {mp, 24'd0} >> k;
      q   = 32'(q48[47:24]) + 32'(q48[23] && (q48[22:0] != 23'd0 || q48[24]));
    end                                      // else |value| < 0.5: 0
    if (f[7] || s[7:0] == 8'd0)              // acc = 0, or a zero or subnormal s
      f32_round = 32'sd0;
    else if (q[31])                          // saturate
      f32_round = (f[6] ^ s[8]) ? 32'sh8000_0000 : 32'sh7FFF_FFFF;
    else
      f32_round = (f[6] ^ s[8]) ? -$signed(q) : $signed(q);
  endfunction

  // The last stage: + zero point, clamp to [lo, hi] (or the raw
  // accumulator in bypass, which stage 3 hands on as y); the top bit says
  // the clamp changed the value. The comparisons y + zp < lo and
  // y + zp > hi arrive as lt and gt, formed from lo - zp and hi - zp so that
  // they do not wait for the sum (with Stages = 5, a stage ahead).
  function automatic logic [32:0] zp_clamp(logic signed [31:0] y, logic signed [15:0] zp, logic signed [15:0] lo,
                                           logic signed [15:0] hi, logic lt, logic gt, logic bypass);
    if (bypass)  zp_clamp = {1'b0, y};
    else if (lt) zp_clamp = {1'b1, 32'(lo)};
    else if (gt) zp_clamp = {1'b1, 32'(hi)};
    else         zp_clamp = {1'b0, y + 32'(zp)};  // no overflow: lo - zp <= y <= hi - zp
  endfunction

  // ---- the pipeline: data registers loaded only when their stage is valid
  // (idle columns cost nothing, in silicon as in Verilator).

  logic signed [31:0] a1_q, acc1_q, acc2_q;
  logic signed [32:0] y3_q;             // Stages = 5: before RDBPOT's shift
  logic [4:0]         r1_q, r2_q, r3_q; // RDBPOT's exponent r
  logic [31:0]        k2_q;             // and its rounding addend
  // what the last stage reads: stage 3's registers, or (Stages = 5) stage 4's
  logic signed [31:0] y_l;
  logic               lt_l, gt_l;
  logic [RowW-1:0]    row_l;
  prm_t               p_l;
  logic signed [62:0] prod2_q;  // |product| <= 2^62: 63 bits
  logic               both_min2_q, sat_q;
  prm_t               p0, p1, p2, p3;  // the parameters each stage uses
  logic [RowW-1:0]    row1_q, row2_q, row3_q, row4_q;
  logic [31:0]        out_q;

  // The bank's float32 flag and M0 as each stage sees them (f32_* constant 0
  // when the float32 path is not built).
  logic               f32_0, f32_1, f32_2;
  logic [31:0]        m0_1;
  logic [8:0]         se_2;          // stage 3: the float32 scale's sign and exponent
  logic signed [31:0] opa_1, opb_1;  // stage 2's multiplier operands
  if (Slots > 1) begin : gen_read_once
    // One read per accumulator (the caller's, at its drain stage): the
    // record travels down the pipeline with the row. Synthesis keeps only
    // the fields a later stage uses.
    prm_t p1_q, p2_q, p3_q;
    always_ff @(posedge clk_i) begin
      if (vld_i[2]) p3_q <= p2_q;
      if (vld_i[1]) p2_q <= p1_q;
      if (vld_i[0]) p1_q <= in_prm_i;
    end
    assign p0 = in_prm_i;
    assign p1 = p1_q;
    assign p2 = p2_q;
    assign p3 = p3_q;
    logic unused_ro;
    assign unused_ro = ^{i0, i1, i2, i3};
  end else begin : gen_read_stage
    // One record per bank: each stage reads its own.
    assign p0 = prm_q[i0[0]];
    assign p1 = prm_q[i1[0]];
    assign p2 = prm_q[i2[0]];
    assign p3 = prm_q[i3[0]];
    logic unused_rs;
    assign unused_rs = ^in_prm_i;
  end
  assign f32_0 = ReqF32 != 0 && p0.f32;
  assign f32_1 = ReqF32 != 0 && p1.f32;
  assign f32_2 = ReqF32 != 0 && p2.f32;
  assign m0_1  = p1.m0;
  assign se_2  = p2.m0[31:23];
  assign opa_1 = f32_1 ? $signed({8'd0, a1_q[23:0]}) : a1_q;
  assign opb_1 = f32_1 ? sig_of_f32(m0_1[30:0]) : $signed(m0_1);

  // The stages in reverse order, so that each register is read before it is
  // written (Verilator then needs no shadow copies of them).
  always_ff @(posedge clk_i) begin
    if (vld_i[Stages-1]) begin                  // last: zero point, clamp, bypass
      {sat_q, out_q} <= zp_clamp(y_l, p_l.zp, p_l.amin, p_l.amax, lt_l, gt_l, p_l.byp);
      row4_q <= row_l;
    end
    if (vld_i[2]) begin                         // 3: SRDHM, RDBPOT (Stages = 5: its add), or the float32 roundings
      if (p2.byp)          y3_q <= 33'(acc2_q);  // bypass: the raw accumulator, r = 0
      else if (f32_2)      y3_q <= 33'(f32_round(prod2_q[47:0], acc2_q[31:24], se_2));
      else if (Stages > 4) y3_q <= srdhm_add(prod2_q[62:30], both_min2_q, k2_q);
      else                 y3_q <= srdhm_add(prod2_q[62:30], both_min2_q, k2_q) >>> r2_q;
      r3_q    <= r2_q;
      bank3_q <= bank2_q;
      slot3_q <= slot2_q;
      row3_q  <= row2_q;
    end
    if (vld_i[1]) begin                         // 2: the 32x32 product (24x24 for float32)
      prod2_q     <= 63'(64'(opa_1) * 64'(opb_1));
      r2_q        <= r1_q;
      k2_q        <= rnd_k(r1_q, a1_q[31] ^ m0_1[31]);
      both_min2_q <= a1_q == 32'sh8000_0000 && m0_1 == 32'h8000_0000;
      // float32: the raw accumulator is not needed (no bypass); its slot
      // carries stage 1's {zero, sign, exponent} to stage 3
      acc2_q      <= f32_1 ? {a1_q[31:24], acc1_q[23:0]} : acc1_q;
      bank2_q     <= bank1_q;
      slot2_q     <= slot1_q;
      row2_q      <= row1_q;
    end
    if (vld_i[0]) begin                         // 1: saturating left shift, or float32(acc)
      a1_q    <= f32_0 ? to_f32(in_acc_i)
                       : sat_lshift(in_acc_i, p0.shift);
      acc1_q  <= in_acc_i;
      bank1_q <= in_bank_i;
      slot1_q <= in_slot_i;
      row1_q  <= in_row_i;
      r1_q    <= (!f32_0 && !p0.byp && p0.shift[5]) ? 5'(-p0.shift) : 5'd0;  // 0: float32, bypass
    end
  end

  if (Stages > 4) begin : gen_stage_shift
    // Stage 3 also shifts the clamp's bounds by r: y < lo - zp is
    // s < (lo - zp) * 2^r, y > hi - zp is s > (hi - zp) * 2^r + 2^r - 1,
    // for y = s >>> r. Stage 4 then shifts s and compares it at once.
    localparam int BW = 49;  // |(lo - zp) * 2^31| < 2^47
    // (lo - zp and hi - zp formed in stage 2, so that stage 3 only shifts)
    logic signed [BW-1:0] lob3_q, hib3_q;
    logic signed [16:0]   lozp2_q, hizp2_q;
    logic [31:0]          mask2;
    assign mask2 = low_mask(r2_q);
    always_ff @(posedge clk_i) begin
      if (vld_i[2]) begin
        lob3_q <= BW'(lozp2_q) <<< r2_q;
        hib3_q <= (BW'(hizp2_q) <<< r2_q) | BW'(mask2);
      end
      if (vld_i[1]) begin
        lozp2_q <= 17'(p1.amin) - 17'(p1.zp);
        hizp2_q <= 17'(p1.amax) - 17'(p1.zp);
      end
    end
    // Stage 4: RDBPOT's shift (a float32 or bypass row has r = 0).
    logic signed [31:0] y4_q;
    logic               lt4_q, gt4_q;
    logic [RowW-1:0]    row4s_q;
    prm_t               p4_q;
    always_ff @(posedge clk_i) begin
      if (vld_i[3]) begin
        y4_q    <= 32'(y3_q >>> r3_q);
        lt4_q   <= BW'(y3_q) < lob3_q;
        gt4_q   <= BW'(y3_q) > hib3_q;
        row4s_q <= row3_q;
        p4_q    <= p3;
      end
    end
    assign y_l   = y4_q;
    assign lt_l  = lt4_q;
    assign gt_l  = gt4_q;
    assign row_l = row4s_q;
    assign p_l   = p4_q;
  end else begin : gen_stage_last
    logic signed [16:0] lozp3_q, hizp3_q;
    always_ff @(posedge clk_i) begin
      if (vld_i[2]) begin
        lozp3_q <= 17'(p2.amin) - 17'(p2.zp);
        hizp3_q <= 17'(p2.amax) - 17'(p2.zp);
      end
    end
    assign y_l   = 32'(y3_q);
    assign lt_l  = y_l < 32'(lozp3_q);
    assign gt_l  = y_l > 32'(hizp3_q);
    assign row_l = row3_q;
    assign p_l   = p3;
    logic unused_r3;
    assign unused_r3 = ^{r3_q, y3_q[32]};
  end

  assign out_row_o  = row4_q;
  assign out_data_o = out_q;
  assign out_sat_o  = sat_q;

  // Record bits outside the fields: the top 2 bits of the shift byte and
  // the 6 spare flag bits (7 without the float32 path).
  // Each stage reads only some fields of its parameter record.
  logic unused_fields;
  assign unused_fields = ^{p0, p1, p2, p3, p_l, pb0, pb1, pbs};

  logic unused_bits;
  assign unused_bits = ^{prm_rec_i[qnpu_reg_pkg::PrmShiftLsb + 6 +: 2],
                         prm_rec_i[qnpu_reg_pkg::PrmFlagsLsb + 1 +: 7]};

endmodule
