// qnpu_accum.sv - one column's int32 accumulator memory.
//
// A K dimension longer than one fold is summed here: a row of a FIRST fold
// starts from 0, later folds add to what is stored, and a row of a LAST fold
// leaves for the requantization unit with its channel's bias added, instead
// of being stored. Arithmetic is modulo 2^32 (docs/numerics.md:
// wrap-around), so neither the fold split nor the place of the bias can
// change a result. The memory has an asynchronous read, so a row may be
// updated every cycle; every row carries its own tag, so consecutive output
// tiles need no drain between them. The valid bits are the caller's
// (qnpu_core keeps one shift register for all columns): out_* hold the last
// LAST-fold row, valid the cycle after in_valid_i && in_last_i.
//
// Store = 1 (a requantization unit shared by several columns, qnpu_core's
// ReqShare > 1): a LAST-fold row is stored like any other, without the
// bias, and the drain reads it back through rd_*.
module qnpu_accum #(
  parameter int PsumW = 20,   // width of the column sums from the array
  parameter int Depth = 64,   // accumulator rows
  parameter int OutW  = 6,    // width of an output-row tag
  parameter int Store = 0,    // 1: LAST-fold rows are stored, not emitted
  localparam int RowW = $clog2(Depth)
) (
  input  logic             clk_i,
  input  logic             in_valid_i,
  input  logic [RowW-1:0]  in_row_i,
  input  logic [OutW-1:0]  in_out_row_i,
  input  logic             in_first_i,  // first fold: start from 0
  input  logic             in_last_i,   // last fold: add the bias and emit
  input  logic             in_bank_i,   // parameter bank of the last fold
  input  logic [PsumW-1:0] psum_i,
  input  logic [31:0]      bias0_i,     // the channel's bias in each parameter bank
  input  logic [31:0]      bias1_i,
  output logic [OutW-1:0]  out_row_o,
  output logic             out_bank_o,
  output logic [31:0]      out_acc_o,
  // Store = 1: the drain's read port
  input  logic [RowW-1:0]  rd_row_i,
  output logic [31:0]      rd_data_o
);

  logic [31:0] mem_q [Depth];
  logic [31:0] sum;

  assign sum = (in_first_i ? 32'd0 : mem_q[in_row_i]) + {{(32-PsumW){psum_i[PsumW-1]}}, psum_i};

  if (Store != 0) begin : gen_store
    always_ff @(posedge clk_i) begin
      if (in_valid_i) mem_q[in_row_i] <= sum;
    end
    assign rd_data_o  = mem_q[rd_row_i];
    assign out_row_o  = '0;
    assign out_bank_o = 1'b0;
    assign out_acc_o  = '0;
    logic unused_st;
    assign unused_st = ^{in_out_row_i, in_last_i, in_bank_i, bias0_i, bias1_i};
  end else begin : gen_emit
    // Valid rows only: the registers hold still otherwise.
    logic [OutW-1:0] row_q;
    logic            bank_q;
    logic [31:0]     acc_q;
    always_ff @(posedge clk_i) begin
      if (in_valid_i) begin
        if (!in_last_i) begin
          mem_q[in_row_i] <= sum;
        end else begin
          row_q  <= in_out_row_i;
          bank_q <= in_bank_i;
          acc_q  <= sum + (in_bank_i ? bias1_i : bias0_i);
        end
      end
    end
    assign out_row_o  = row_q;
    assign out_bank_o = bank_q;
    assign out_acc_o  = acc_q;
    assign rd_data_o  = '0;
    logic unused_rd;
    assign unused_rd = ^rd_row_i;
  end

endmodule
