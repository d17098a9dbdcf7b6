/* Wine 8 (Debian 12) has no ProcessPrng, which Rust's std calls on Windows for its
 * random numbers since Rust 1.78: this DLL gives it, from RtlGenRandom, so that the
 * Windows build's tests run under Wine in scripts/cross-check. Only ever loaded in
 * that script's private Wine prefix; real Windows has its own. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length) {
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
