// qnpu_mem_arb.sv - shares the memory port among the command fetcher, the
// load DMA and the store DMA. Round-robin request arbitration; the memory
// answers in order, so a FIFO of requester ids routes every response
// (reads and writes both get one). Counts the bytes moved.
module qnpu_mem_arb #(
  parameter int N        = 3,   // requesters
  parameter int DataW    = 128, // memory-port data bits
  parameter int MaxOut   = 64,  // outstanding requests (a power of two)
  parameter int StrbW    = DataW / 8
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 clr_i,       // soft reset: forget outstanding routing
  // requesters
  input  logic [N-1:0]         req_valid_i,
  output logic [N-1:0]         req_ready_o,
  input  logic [N-1:0]         req_write_i,
  input  logic [N*32-1:0]      req_addr_i,
  input  logic [N*DataW-1:0]   req_wdata_i,
  input  logic [N*StrbW-1:0]   req_wstrb_i,
  output logic [N-1:0]         rsp_valid_o,
  input  logic [N-1:0]         rsp_ready_i,
  output logic [DataW-1:0]     rsp_rdata_o,
  output logic                 rsp_err_o,
  // memory port
  output logic                 mem_req_valid_o,
  input  logic                 mem_req_ready_i,
  output logic                 mem_req_write_o,
  output logic [31:0]          mem_req_addr_o,
  output logic [DataW-1:0]     mem_req_wdata_o,
  output logic [StrbW-1:0]     mem_req_wstrb_o,
  input  logic                 mem_rsp_valid_i,
  output logic                 mem_rsp_ready_o,
  input  logic [DataW-1:0]     mem_rsp_rdata_i,
  input  logic                 mem_rsp_err_i,
  // bytes accepted by the memory this cycle
  output logic [$clog2(StrbW+1)-1:0] rd_bytes_o,
  output logic [$clog2(StrbW+1)-1:0] wr_bytes_o,
  output logic                 idle_o       // nothing outstanding
);

  localparam int IdW = (N > 1) ? $clog2(N) : 1;

  // ---- round-robin grant ---------------------------------------------------
  logic [IdW-1:0] last_q, grant;
  logic           any;
  logic           route_full, route_empty;

  always_comb begin
    grant = last_q;
    any   = 1'b0;
    for (int k = 1; k <= N; k++) begin
      // candidate (last + k) mod N; the first valid one wins
      logic [IdW:0] cand;
      cand = ({1'b0, last_q} + (IdW+1)'(k)) % (IdW+1)'(N);
      if (!any && req_valid_i[cand[IdW-1:0]]) begin
        grant = cand[IdW-1:0];
        any   = 1'b1;
      end
    end
  end

  assign mem_req_valid_o = any && !route_full;
  assign mem_req_write_o = req_write_i[grant];
  assign mem_req_addr_o  = req_addr_i[grant*32 +: 32];
  assign mem_req_wdata_o = req_wdata_i[grant*DataW +: DataW];
  assign mem_req_wstrb_o = req_wstrb_i[grant*StrbW +: StrbW];

  logic accepted;
  assign accepted = mem_req_valid_o && mem_req_ready_i;

  always_comb begin
    req_ready_o = '0;
    req_ready_o[grant] = accepted;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)       last_q <= '0;
    else if (accepted) last_q <= grant;
  end

  // ---- in-order response routing ---------------------------------------------
  logic [IdW-1:0] route_id;
  logic [$clog2(MaxOut+1)-1:0] route_count;  // unused: empty/full suffice
  qnpu_fifo #(.Width(IdW), .Depth(MaxOut)) u_route (
    .clk_i,
    .rst_ni,
    .clr_i,
    .push_i  (accepted),
    .data_i  (grant),
    .pop_i   (mem_rsp_valid_i && mem_rsp_ready_o),
    .data_o  (route_id),
    .empty_o (route_empty),
    .full_o  (route_full),
    .count_o (route_count)
  );

  // A response nobody waits for (after a soft reset) is accepted and dropped.
  always_comb begin
    rsp_valid_o = '0;
    if (!route_empty) rsp_valid_o[route_id] = mem_rsp_valid_i;
    mem_rsp_ready_o = route_empty ? 1'b1 : rsp_ready_i[route_id];
  end
  assign rsp_rdata_o = mem_rsp_rdata_i;
  assign rsp_err_o   = mem_rsp_err_i;
  assign idle_o      = route_empty;

  logic unused_count;
  assign unused_count = ^route_count;

  // ---- byte counts -------------------------------------------------------------
  always_comb begin
    rd_bytes_o = '0;
    wr_bytes_o = '0;
    if (accepted && !mem_req_write_o) rd_bytes_o = ($clog2(StrbW+1))'(StrbW);
    if (accepted && mem_req_write_o) begin
      for (int b = 0; b < StrbW; b++) wr_bytes_o += {{($clog2(StrbW+1)-1){1'b0}}, mem_req_wstrb_o[b]};
    end
  end

endmodule
