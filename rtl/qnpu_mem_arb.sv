// qnpu_mem_arb.sv - shares the memory port among the command fetcher, the
// load DMA and the store DMA. Round-robin request arbitration into a
// two-entry request queue that drives the port; the memory answers in
// order, so a FIFO of requester ids (pushed when the memory takes a
// request) routes every response (reads and writes both get one) through a
// two-entry response queue. Both queues register the port: no input of the
// accelerator reaches its logic without a register. Counts the bytes moved.
//
// A soft reset (clr_i) drops the requests not yet sent and marks those the
// memory holds as stale: their responses are accepted and dropped, so the
// engines can start afresh while the port drains.
module qnpu_mem_arb #(
  parameter int N        = 3,   // requesters
  parameter int DataW    = 128, // memory-port data bits
  parameter int MaxOut   = 64,  // outstanding requests (a power of two)
  parameter int StrbW    = DataW / 8
) (
  input  logic                 clk_i,
  input  logic                 rst_ni,
  input  logic                 clr_i,       // soft reset
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
  // bytes the memory took this cycle
  output logic [$clog2(StrbW+1)-1:0] rd_bytes_o,
  output logic [$clog2(StrbW+1)-1:0] wr_bytes_o,
  output logic                 idle_o       // nothing outstanding
);

  localparam int IdW  = (N > 1) ? $clog2(N) : 1;
  localparam int ReqW = IdW + 1 + 32 + DataW + StrbW;
  localparam int CntW = $clog2(MaxOut + 1);

  // ---- round-robin grant into the request queue --------------------------------
  logic [IdW-1:0] last_q, grant;
  logic           any, oq_full, oq_empty, accepted;

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

  assign accepted = any && !oq_full;
  always_comb begin
    req_ready_o = '0;
    req_ready_o[grant] = accepted;
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni)       last_q <= '0;
    else if (accepted) last_q <= grant;
  end

  logic [ReqW-1:0] oq_in, oq_out;
  logic [IdW-1:0]  oq_id;
  logic            sent;
  logic [1:0]      oq_count;
  assign oq_in = {grant, req_write_i[grant], req_addr_i[grant*32 +: 32], req_wdata_i[grant*DataW +: DataW],
                  req_wstrb_i[grant*StrbW +: StrbW]};
  qnpu_fifo #(.Width(ReqW), .Depth(2)) u_oq (
    .clk_i, .rst_ni, .clr_i,
    .push_i(accepted), .data_i(oq_in), .pop_i(sent),
    .data_o(oq_out), .empty_o(oq_empty), .full_o(oq_full), .count_o(oq_count)
  );
  assign {oq_id, mem_req_write_o, mem_req_addr_o, mem_req_wdata_o, mem_req_wstrb_o} = oq_out;
  assign mem_req_valid_o = !oq_empty && !route_full;
  assign sent            = mem_req_valid_o && mem_req_ready_i;

  // ---- in-order response routing --------------------------------------------------
  logic [IdW-1:0]  route_id;
  logic            route_full, route_empty, route_pop;
  logic [CntW-1:0] route_count, stale_q, stale_d;
  qnpu_fifo #(.Width(IdW), .Depth(MaxOut)) u_route (
    .clk_i, .rst_ni, .clr_i(1'b0),
    .push_i(sent), .data_i(oq_id), .pop_i(route_pop),
    .data_o(route_id), .empty_o(route_empty), .full_o(route_full), .count_o(route_count)
  );

  logic             iq_full, iq_empty, iq_err;
  logic [DataW-1:0] iq_rdata;
  logic [1:0]       iq_count;
  assign mem_rsp_ready_o = !iq_full;
  qnpu_fifo #(.Width(DataW + 1), .Depth(2)) u_iq (
    .clk_i, .rst_ni, .clr_i(1'b0),
    .push_i(mem_rsp_valid_i && !iq_full), .data_i({mem_rsp_err_i, mem_rsp_rdata_i}), .pop_i(route_pop),
    .data_o({iq_err, iq_rdata}), .empty_o(iq_empty), .full_o(iq_full), .count_o(iq_count)
  );

  // A response nobody waits for (one the memory held at a soft reset) is
  // dropped; the others go to their requester when it is ready.
  logic stale;
  assign stale = stale_q != '0;
  always_comb begin
    rsp_valid_o = '0;
    if (!iq_empty && !route_empty && !stale) rsp_valid_o[route_id] = 1'b1;
    route_pop = !iq_empty && !route_empty && (stale || rsp_ready_i[route_id]);
  end
  assign rsp_rdata_o = iq_rdata;
  assign rsp_err_o   = iq_err;

  always_comb begin
    stale_d = stale_q - CntW'(route_pop && stale);
    if (clr_i) stale_d = route_count + CntW'(sent) - CntW'(route_pop);
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) stale_q <= '0;
    else         stale_q <= stale_d;
  end
  assign idle_o = route_empty && oq_empty;

  logic unused_count;
  assign unused_count = ^{oq_count, iq_count};

  // ---- byte counts ---------------------------------------------------------------------
  always_comb begin
    rd_bytes_o = '0;
    wr_bytes_o = '0;
    if (sent && !mem_req_write_o) rd_bytes_o = ($clog2(StrbW+1))'(StrbW);
    if (sent && mem_req_write_o) begin
      for (int b = 0; b < StrbW; b++) wr_bytes_o += {{($clog2(StrbW+1)-1){1'b0}}, mem_req_wstrb_o[b]};
    end
  end

endmodule
