// qnpu_spad.sv - one scratchpad: Depth rows of Lanes x LaneW bits, one write
// port with per-lane enables and one read port with a registered (one-cycle)
// read, like an SRAM macro. Synthesis reports it as a memory, not flops.
module qnpu_spad #(
  parameter int Depth = 64,  // rows
  parameter int Lanes = 4,   // write-enable lanes per row
  parameter int LaneW = 8,   // bits per lane
  parameter int AddrW = $clog2(Depth)
) (
  input  logic                   clk_i,
  input  logic                   we_i,
  input  logic [AddrW-1:0]       waddr_i,
  input  logic [Lanes-1:0]       wlanes_i,
  input  logic [Lanes*LaneW-1:0] wdata_i,
  input  logic                   re_i,
  input  logic [AddrW-1:0]       raddr_i,
  output logic [Lanes*LaneW-1:0] rdata_o
);

  logic [Lanes*LaneW-1:0] mem_q [Depth];
  logic [Lanes*LaneW-1:0] rdata_q;

  always_ff @(posedge clk_i) begin
    if (we_i) begin
      for (int l = 0; l < Lanes; l++) begin
        if (wlanes_i[l]) mem_q[waddr_i][l*LaneW +: LaneW] <= wdata_i[l*LaneW +: LaneW];
      end
    end
    if (re_i) rdata_q <= mem_q[raddr_i];
  end

  assign rdata_o = rdata_q;

endmodule
