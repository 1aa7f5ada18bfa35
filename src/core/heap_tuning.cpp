#include "core/heap_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace facegen::core {

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
    // No mmap-served chunks: large blocks come from the heap and are reused after free.
    const bool no_mmap = mallopt(M_MMAP_MAX, 0) == 1;
    // Never give the top of the heap back (the largest value the int parameter takes).
    const bool no_trim = mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;
    return no_mmap && no_trim;
#else
    return false;
#endif
}

}  // namespace facegen::core
