// qnpu_ice40_core.sv - puts the whole qnpu_core (array, accumulators, one
// shared requantization unit) on an iCE40 package for area and Fmax, as
// syn/qnpu_ice40_wrap.sv does for the array: a serial shift register drives
// every core input, the outputs are captured into a shift register read out
// serially, so every input stays live and every path is register to
// register. A synthesis harness, nothing more.
module qnpu_ice40_core #(
  parameter int Rows     = 2,
  parameter int Cols     = 2,
  parameter int AccDepth = 16,
  parameter int OutRows  = 16,
  parameter int ReqShare = 2,
  parameter int ReqF32   = 1,
  parameter int Int4     = 1,
  parameter int MulPairs = 0
) (
  input  logic clk_i,
  input  logic rst_ni,
  input  logic sin_i,    // serial stimulus
  input  logic load_i,   // capture the outputs
  output logic sout_o    // serial result
);
  localparam int RowW    = $clog2(AccDepth);
  localparam int OutW    = $clog2(OutRows);
  localparam int RowIdxW = $clog2(Rows);
  localparam int ColW    = $clog2(Cols);
  // mode, a_valid, a_data, a_acc_row, a_out_row, first, last, pbank, swap,
  // end, chk_row, clr, w_valid, w_row, w_data, prm_we, prm_col, prm_bank, prm_rec
  localparam int InW  = 2 + 1 + Rows*8 + RowW + OutW + 5 + RowW + 1 + 1 + RowIdxW + Cols*8 + 1 + ColW + 1 + 128;
  // out_valid, out_row, out_data, out_sat, busy, chk_hold, done; with
  // shared requantization (ReqShare > 1) the P columns of a unit carry the
  // same out_row and out_data wires, captured once per unit
  localparam int G    = ReqShare > 1 ? Cols / ReqShare : Cols;
  localparam int OW   = Cols + G*OutW + G*32 + Cols + 3;

  logic [InW-1:0] in_q;
  always_ff @(posedge clk_i) in_q <= {in_q[InW-2:0], sin_i};

  logic [Cols-1:0]      out_valid, out_sat;
  logic [Cols*OutW-1:0] out_row;
  logic [Cols*32-1:0]   out_data;
  logic                 busy, hold, done;
  // Input fields, packed from bit 0 in the order above.
  localparam int A0 = 3;                       // a_data
  localparam int A1 = A0 + Rows*8;             // a_acc_row
  localparam int A2 = A1 + RowW;               // a_out_row
  localparam int A3 = A2 + OutW;               // first, last, pbank, swap, end
  localparam int A4 = A3 + 5;                  // chk_row
  localparam int A5 = A4 + RowW;               // clr, w_valid
  localparam int A6 = A5 + 2;                  // w_row
  localparam int A7 = A6 + RowIdxW;            // w_data
  localparam int A8 = A7 + Cols*8;             // prm_we, prm_col, prm_bank, prm_rec
  qnpu_core #(.Rows(Rows), .Cols(Cols), .AccDepth(AccDepth), .OutRows(OutRows), .ReqF32(ReqF32),
              .ReqShare(ReqShare), .Int4(Int4), .MulPairs(MulPairs)) u_core (
    .clk_i,
    .rst_ni,
    .mode_i      (in_q[1:0] == 2'd3 ? 2'd0 : in_q[1:0]),
    .a_valid_i   (in_q[2]),
    .a_data_i    (in_q[A0 +: Rows*8]),
    .a_acc_row_i (in_q[A1 +: RowW]),
    .a_out_row_i (in_q[A2 +: OutW]),
    .a_first_i   (in_q[A3]),
    .a_last_i    (in_q[A3 + 1]),
    .a_pbank_i   (in_q[A3 + 2]),
    .a_swap_i    (in_q[A3 + 3]),
    .a_end_i     (in_q[A3 + 4]),
    .chk_row_i   (in_q[A4 +: RowW]),
    .chk_hold_o  (hold),
    .clr_i       (in_q[A5]),
    .done_o      (done),
    .w_valid_i   (in_q[A5 + 1]),
    .w_row_i     (in_q[A6 +: RowIdxW]),
    .w_data_i    (in_q[A7 +: Cols*8]),
    .prm_we_i    (in_q[A8]),
    .prm_col_i   (in_q[A8 + 1 +: ColW]),
    .prm_bank_i  (in_q[A8 + 1 + ColW]),
    .prm_rec_i   (in_q[A8 + 2 + ColW +: 128]),
    .out_valid_o (out_valid),
    .out_row_o   (out_row),
    .out_data_o  (out_data),
    .out_sat_o   (out_sat),
    .busy_o      (busy)
  );

  logic [G*OutW-1:0] row_g;
  logic [G*32-1:0]   data_g;
  for (genvar g = 0; g < G; g++) begin : gen_grp
    localparam int J = ReqShare > 1 ? g * ReqShare : g;
    assign row_g[g*OutW +: OutW] = out_row[J*OutW +: OutW];
    assign data_g[g*32 +: 32]    = out_data[J*32 +: 32];
  end
  logic [OW-1:0] out_q;
  always_ff @(posedge clk_i) begin
    if (load_i) out_q <= {out_valid, row_g, data_g, out_sat, busy, hold, done};
    else        out_q <= {1'b0, out_q[OW-1:1]};
  end
  assign sout_o = out_q[0];
endmodule
