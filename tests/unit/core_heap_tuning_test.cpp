#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "core/heap_tuning.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace facegen::core {
namespace {

#if defined(__GLIBC__)
TEST(HeapTuning, LargeBlocksComeFromTheHeapNotMmap) {
    ASSERT_TRUE(keep_freed_memory_for_reuse());
    const size_t before = mallinfo2().hblkhd;  // bytes in mmap-served blocks
    constexpr size_t kBytes = size_t(64) << 20;  // above glibc's largest mmap threshold
    void* block = std::malloc(kBytes);
    ASSERT_NE(block, nullptr);
    std::memset(block, 1, kBytes);
    EXPECT_EQ(mallinfo2().hblkhd, before) << "a 64 MiB block was served by mmap";
    std::free(block);
    // Freed, the block stays in the arena for the next allocation instead of going back.
    EXPECT_GE(mallinfo2().fordblks, kBytes);
}
#endif

}  // namespace
}  // namespace facegen::core
