// qnpu_agen.sv - the DMA address walk, shared by the load and store engines
// (and mirrored by qnpu_walk() in C for the fast model).
//
// A walk is COUNT3 x COUNT2 x COUNT1 rows of LEN bytes; row (i1, i2, i3)
// starts at ADDR + i1*STRIDE1 + i2*STRIDE2 + i3*STRIDE3 (modulo 2^32, any
// byte alignment). Rows whose middle index i2 lies in the first PAD_X_LO or
// the last PAD_X_HI iterations, or whose outer index i3 lies in the first
// PAD_Y_LO or last PAD_Y_HI, are padding: they take one step and no beat.
// Every other row takes one step per memory beat it touches. The current
// step is described by the outputs; next_i takes it.
module qnpu_agen #(
  parameter int Bytes = 16,               // memory-port beat
  localparam int Lg   = $clog2(Bytes)
) (
  input  logic              clk_i,
  input  logic              rst_ni,
  input  logic              clr_i,        // abandon the walk
  // a new walk (while !active_o, or with the current walk's last next_i)
  input  logic              start_i,
  input  logic [31:0]       addr_i,
  input  logic [15:0]       len_i,
  input  logic [15:0]       cnt1_i,
  input  logic [15:0]       cnt2_i,
  input  logic [15:0]       cnt3_i,
  input  logic [31:0]       str1_i,
  input  logic [31:0]       str2_i,
  input  logic [31:0]       str3_i,
  input  logic [3:0]        pad_xlo_i,
  input  logic [3:0]        pad_xhi_i,
  input  logic [3:0]        pad_ylo_i,
  input  logic [3:0]        pad_yhi_i,
  // the current step
  input  logic              next_i,
  output logic              active_o,
  output logic              pad_o,        // a padding row (no beat)
  output logic [31:0]       beat_o,       // beat address (Bytes-aligned)
  output logic              first_o,      // the row's first beat (or a padding row)
  output logic              last_o,       // the row's last beat (or a padding row)
  output logic [Lg:0]       lo_o,         // first useful byte in the beat
  output logic [Lg:0]       n_o,          // useful bytes in the beat
  output logic [15:0]       off_o,        // row byte of the first useful byte
  output logic              last_row_o    // the current row is the walk's last
);

  logic        active_q;
  logic [15:0] len_q, cnt1_q, cnt2_q, cnt3_q, i1_q, i2_q, i3_q;
  logic [15:0] xhi_q, yhi_q;              // first padding index at the high end
  logic [3:0]  xlo_q, ylo_q;
  logic [31:0] str1_q, str2_q, str3_q, p1_q, p2_q, p3_q, beat_q;

  // ---- the current step -------------------------------------------------------
  logic [32:0] row_end;
  logic        end1, end2, end3;
  always_comb begin
    pad_o      = ({12'd0, xlo_q} > i2_q) || (i2_q >= xhi_q) || ({12'd0, ylo_q} > i3_q) || (i3_q >= yhi_q);
    row_end    = {1'b0, p1_q} + {17'd0, len_q};
    first_o    = pad_o || beat_q == {p1_q[31:Lg], {Lg{1'b0}}};
    last_o     = pad_o || ({1'b0, beat_q} + 33'(Bytes)) >= row_end;
    lo_o       = first_o ? {1'b0, p1_q[Lg-1:0]} : '0;
    n_o        = (last_o ? (Lg+1)'(row_end - {1'b0, beat_q}) : (Lg+1)'(Bytes)) - lo_o;
    off_o      = first_o ? 16'd0 : 16'(beat_q - p1_q);
    end1       = i1_q + 16'd1 == cnt1_q;
    end2       = i2_q + 16'd1 == cnt2_q;
    end3       = i3_q + 16'd1 == cnt3_q;
    last_row_o = end1 && end2 && end3;
  end
  assign active_o = active_q;
  assign beat_o   = beat_q;

  // ---- advancing ----------------------------------------------------------------
  logic        active_d;
  logic [15:0] i1_d, i2_d, i3_d;
  logic [31:0] p1_d, p2_d, p3_d, beat_d, n1, n2, n3;
  assign n1 = p1_q + str1_q;
  assign n2 = p2_q + str2_q;
  assign n3 = p3_q + str3_q;

  always_comb begin
    active_d = active_q;
    {i1_d, i2_d, i3_d} = {i1_q, i2_q, i3_q};
    {p1_d, p2_d, p3_d} = {p1_q, p2_q, p3_q};
    beat_d = beat_q;
    if (clr_i) begin
      active_d = 1'b0;
    end else if (start_i) begin
      active_d = 1'b1;
      {i1_d, i2_d, i3_d} = '0;
      {p1_d, p2_d, p3_d} = {addr_i, addr_i, addr_i};
      beat_d = {addr_i[31:Lg], {Lg{1'b0}}};
    end else if (next_i && active_q) begin
      if (!last_o) begin
        beat_d = beat_q + 32'(Bytes);
      end else if (!end1) begin
        i1_d   = i1_q + 16'd1;
        p1_d   = n1;
        beat_d = {n1[31:Lg], {Lg{1'b0}}};
      end else if (!end2) begin
        i1_d   = '0;
        i2_d   = i2_q + 16'd1;
        {p1_d, p2_d} = {n2, n2};
        beat_d = {n2[31:Lg], {Lg{1'b0}}};
      end else if (!end3) begin
        {i1_d, i2_d} = '0;
        i3_d   = i3_q + 16'd1;
        {p1_d, p2_d, p3_d} = {n3, n3, n3};
        beat_d = {n3[31:Lg], {Lg{1'b0}}};
      end else begin
        active_d = 1'b0;
      end
    end
  end

  // Only the active bit is reset; the walk registers are loaded at start.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) active_q <= 1'b0;
    else         active_q <= active_d;
  end

  always_ff @(posedge clk_i) begin
    if (start_i) begin
      len_q  <= len_i;
      cnt1_q <= cnt1_i;
      cnt2_q <= cnt2_i;
      cnt3_q <= cnt3_i;
      str1_q <= str1_i;
      str2_q <= str2_i;
      str3_q <= str3_i;
      xlo_q  <= pad_xlo_i;
      ylo_q  <= pad_ylo_i;
      xhi_q  <= cnt2_i - {12'd0, pad_xhi_i};
      yhi_q  <= cnt3_i - {12'd0, pad_yhi_i};
    end
    {i1_q, i2_q, i3_q} <= {i1_d, i2_d, i3_d};
    {p1_q, p2_q, p3_q} <= {p1_d, p2_d, p3_d};
    beat_q <= beat_d;
  end

endmodule
