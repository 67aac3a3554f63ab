// qnpu_pkg.sv - constants shared by the qnpu RTL.
package qnpu_pkg;

  // Precision of one operation (docs/architecture.md, "Precision modes").
  localparam logic [1:0] ModeW8A8 = 2'd0;  // int8 weights x int8 activations
  localparam logic [1:0] ModeW4A8 = 2'd1;  // int4 weights widened to int8
  localparam logic [1:0] ModeW4A4 = 2'd2;  // two int4 x int4 MACs per PE

  // Per-column requantization parameter fields (prm_field_i).
  localparam logic [2:0] PrmBias   = 3'd0;  // int32 bias (input zero point folded in)
  localparam logic [2:0] PrmM0     = 3'd1;  // Q31 multiplier, [0, 2^31-1]
  localparam logic [2:0] PrmShift  = 3'd2;  // TFLite shift, [-31, 30] (6-bit signed)
  localparam logic [2:0] PrmZp     = 3'd3;  // output zero point (int16)
  localparam logic [2:0] PrmActMin = 3'd4;  // clamp low (int16)
  localparam logic [2:0] PrmActMax = 3'd5;  // clamp high (int16)
  localparam logic [2:0] PrmFlags  = 3'd6;  // bit 0: bypass (raw int32 output)

endpackage
