// qnpu_fifo.sv - synchronous FIFO, first-word fall-through.
//
// SyncRd = 0: the head is read asynchronously from the memory (a register
// file). SyncRd = 1: the memory is read synchronously (what block RAM and
// SRAM macros offer) into an output register that holds the head; a word
// pushed into an empty FIFO appears at the head two cycles later instead
// of one, and the output register adds one entry of capacity that count_o
// and full_o include (Depth in all). Throughput is one word per cycle
// either way.
module qnpu_fifo #(
  parameter int Width  = 8,  // bits per entry
  parameter int Depth  = 4,  // entries (a power of two, >= 2)
  parameter int SyncRd = 0,  // 1: synchronous memory read, registered head
  parameter int CntW   = $clog2(Depth + 1)
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             clr_i,      // synchronous flush
  input  logic             push_i,
  input  logic [Width-1:0] data_i,
  input  logic             pop_i,
  output logic [Width-1:0] data_o,
  output logic             empty_o,
  output logic             full_o,
  output logic [CntW-1:0]  count_o
);

  localparam int PtrW = $clog2(Depth);

  if (Depth < 2 || (Depth & (Depth - 1)) != 0) begin : gen_bad_depth
    $error("qnpu_fifo: Depth must be a power of two >= 2");
  end

  // no_rw_check: the head is read only from words written in earlier cycles.
  (* no_rw_check *) logic [Width-1:0] mem_q [Depth];
  logic [PtrW-1:0]  rd_q, wr_q;
  logic [CntW-1:0]  cnt_q;   // words in the FIFO (the memory and, SyncRd, the head register)

  logic do_push, do_pop;
  assign do_push = push_i && !full_o;
  assign do_pop  = pop_i && !empty_o;
  assign full_o  = (cnt_q == CntW'(Depth));
  assign count_o = cnt_q;

  always_ff @(posedge clk_i) begin
    if (do_push) mem_q[wr_q] <= data_i;
  end

  // The pointers and the count; the read pointer advances on a pop
  // (SyncRd = 0) or when the head register is loaded (SyncRd = 1).
  logic rd_adv;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      rd_q  <= '0;
      wr_q  <= '0;
      cnt_q <= '0;
    end else if (clr_i) begin
      rd_q  <= '0;
      wr_q  <= '0;
      cnt_q <= '0;
    end else begin
      if (do_push) wr_q <= wr_q + 1'b1;
      if (rd_adv)  rd_q <= rd_q + 1'b1;
      if (do_push && !do_pop) cnt_q <= cnt_q + 1'b1;
      if (do_pop && !do_push) cnt_q <= cnt_q - 1'b1;
    end
  end

  if (SyncRd == 0) begin : gen_async
    assign rd_adv  = do_pop;
    assign data_o  = mem_q[rd_q];
    assign empty_o = (cnt_q == '0);
  end else begin : gen_sync
    // The head register is loaded from the memory whenever it is free (or
    // being popped) and the memory holds a word.
    logic             hv_q;   // the head register holds a word
    logic [CntW-1:0]  mcnt_q; // words in the memory
    logic [Width-1:0] head_q;
    assign rd_adv = mcnt_q != '0 && (!hv_q || do_pop);
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        mcnt_q <= '0;
        hv_q   <= 1'b0;
      end else if (clr_i) begin
        mcnt_q <= '0;
        hv_q   <= 1'b0;
      end else begin
        if (do_push && !rd_adv) mcnt_q <= mcnt_q + 1'b1;
        if (rd_adv && !do_push) mcnt_q <= mcnt_q - 1'b1;
        if (rd_adv)      hv_q <= 1'b1;
        else if (do_pop) hv_q <= 1'b0;
      end
    end
    always_ff @(posedge clk_i) begin
      if (rd_adv) head_q <= mem_q[rd_q];
    end
    assign data_o  = head_q;
    assign empty_o = !hv_q;
  end

endmodule
