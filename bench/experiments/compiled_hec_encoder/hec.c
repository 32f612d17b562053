// An experiment, not part of the plugin (see README.md): a block of stored Docker LogEntry frames
// -> Splunk HEC inline envelopes, byte for byte what sinks/splunk_envelope.py makes, each followed
// by a NUL, plus each frame's end offset. Any frame that is not a plain whole line (partial piece,
// bytes that need JSON escaping, another layout) makes it return -1: the caller then takes the
// Python path. The time is Go's %f of float64(ns)/1e9, the same rounding as Python's "%f".
#include <stdint.h>
#include <stdio.h>
#include <string.h>
static int plain(uint8_t c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'; }
static char *put_time(char *o, uint64_t ns) {
    double q = (double)ns / 1e9;
    if (q >= 1073741824.0 && q < 2147483648.0) {
        uint64_t s = (uint64_t)q; double frac = q - (double)s;
        uint64_t fu = (uint64_t)(frac * 4194304.0);
        uint64_t num = fu * 1000000ULL, qq = num >> 22, rem = num & 0x3FFFFF;
        if (rem > 0x200000 || (rem == 0x200000 && (qq & 1))) qq++;
        if (qq == 1000000) { s++; qq = 0; }
        for (int i = 9; i >= 0; i--) { o[i] = '0' + s % 10; s /= 10; }
        o[10] = '.';
        for (int i = 16; i >= 11; i--) { o[i] = '0' + qq % 10; qq /= 10; }
        return o + 17;
    }
    return o + sprintf(o, "%f", q);
}
// returns events, or -1 (not all plain: caller falls back), -2 (out too small)
long hec_encode(const uint8_t *d, size_t n, char *out, size_t cap, uint32_t *fends, size_t maxev,
                const char *pre, size_t npre, const char *mo, size_t nmo, const char *me, size_t nme,
                const char *tail, size_t ntail, size_t *outlen) {
    size_t pos = 0; long ev = 0; char *o = out, *end = out + cap;
    while (pos < n) {
        if (n - pos < 4 + 18 || (size_t)ev >= maxev) return -1;
        uint32_t len = (uint32_t)d[pos] << 24 | (uint32_t)d[pos+1] << 16 | (uint32_t)d[pos+2] << 8 | d[pos+3];
        const uint8_t *b = d + pos + 4;
        if (pos + 4 + len > n || len < 18) return -1;
        if (b[0] != 0x0a || b[1] != 0x06 || b[8] != 0x10) return -1;
        int err;
        if (!memcmp(b + 2, "stdout", 6)) err = 0; else if (!memcmp(b + 2, "stderr", 6)) err = 1; else return -1;
        uint64_t t = 0;
        for (int i = 0; i < 9; i++) { uint8_t c = b[9 + i]; if ((i < 8) != !!(c & 0x80)) return -1; t |= (uint64_t)(c & 0x7f) << (7 * i); }
        size_t p = 18, L = 0;
        if (len > 18) {
            if (b[p++] != 0x1a) return -1;
            int sh = 0; for (;;) { if (p >= len) return -1; uint8_t c = b[p++]; L |= (size_t)(c & 0x7f) << sh; sh += 7; if (!(c & 0x80)) break; if (sh > 21) return -1; }
            if (p + L != len) return -1;
        }
        if ((size_t)(end - o) < npre + L + nme + nmo + 40 + ntail) return -2;
        memcpy(o, pre, npre); o += npre;
        for (size_t i = 0; i < L; i++) { uint8_t c = b[p + i]; if (!plain(c)) return -1; o[i] = c; }
        o += L;
        if (err) { memcpy(o, me, nme); o += nme; } else { memcpy(o, mo, nmo); o += nmo; }
        o = put_time(o, t);
        memcpy(o, tail, ntail); o += ntail; *o++ = 0;
        pos += 4 + len;
        fends[ev++] = (uint32_t)pos;
    }
    *outlen = (size_t)(o - out);
    return ev;
}
