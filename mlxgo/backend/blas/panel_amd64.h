// Shared by panel_amd64.s and panel_avx2_amd64.s.

// SUM4 leaves in xa the sums of the eight floats of each of ya, yb, yc, yd
// (VEX-encoded: Y0–Y15 only); they and xb are clobbered.
#define SUM4(ya, yb, yc, yd, xa, xb) \
	VHADDPS      yb, ya, ya; \
	VHADDPS      yd, yc, yc; \
	VHADDPS      yc, ya, ya; \
	VEXTRACTF128 $1, ya, xb; \
	VADDPS       xb, xa, xa
