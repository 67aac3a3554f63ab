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
// bias, and the drain reads it back through rd_*. Both reads are then
// synchronous, as block RAM and SRAM macros read: the read-modify-write
// reads the row a cycle ahead (pre_row_i, the row in_row_i names in the
// next cycle; the row written in between is forwarded), and rd_data_o is
// the row rd_row_i named in the previous cycle.
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
  input  logic [RowW-1:0]  pre_row_i,   // Store = 1: in_row_i of the next cycle
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
  // Store = 1: the drain's read port (data a cycle after the row)
  input  logic [RowW-1:0]  rd_row_i,
  output logic [31:0]      rd_data_o
);

  // no_rw_check: a read of the row written in the same cycle is never used
  // (Store = 1 forwards that row; Store = 0 reads asynchronously), so
  // synthesis need not model read-during-write.
  (* no_rw_check *) logic [31:0] mem_q [Depth];
  logic [31:0] sum, old;
  logic [31:0] psum_x;

  assign psum_x = {{(32-PsumW){psum_i[PsumW-1]}}, psum_i};
  assign sum    = (in_first_i ? 32'd0 : old) + psum_x;

  if (Store != 0) begin : gen_store
    // The row read a cycle ahead, unless the previous cycle wrote it.
    logic [31:0]     pre_q, wd_q, rd_q;
    logic            wv_q;
    logic [RowW-1:0] wa_q;
    always_ff @(posedge clk_i) begin
      if (in_valid_i) mem_q[in_row_i] <= sum;
      pre_q <= mem_q[pre_row_i];
      rd_q  <= mem_q[rd_row_i];
      wv_q  <= in_valid_i;
      if (in_valid_i) begin
        wa_q <= in_row_i;
        wd_q <= sum;
      end
    end
    assign old        = (wv_q && wa_q == in_row_i) ? wd_q : pre_q;
    assign rd_data_o  = rd_q;
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
    assign old        = mem_q[in_row_i];
    assign rd_data_o  = '0;
    logic unused_rd;
    assign unused_rd = ^{rd_row_i, pre_row_i};
  end

endmodule
