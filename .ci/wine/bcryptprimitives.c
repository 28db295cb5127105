/*
 * ProcessPrng for Wine 8, which lacks bcryptprimitives.dll: Rust's std
 * imports it for random seeds on Windows. CI copies this DLL into the Wine
 * prefix so Windows test binaries start; it is not part of kiln.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
