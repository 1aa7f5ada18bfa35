#include <gtest/gtest.h>

#include "core/error.h"
#include "generate/seed_list.h"

namespace facegen::generate {
namespace {

class SeedListTest : public ::testing::Test {
protected:
    static std::string error_of(const std::string& text) {
        try {
            parse_seed_list(text);
        } catch (const Error& e) {
            return e.what();
        }
        return "";
    }
};

TEST_F(SeedListTest, SingleSeeds) {
    EXPECT_EQ(parse_seed_list("42"), (std::vector<uint32_t>{42}));
    EXPECT_EQ(parse_seed_list("3,1,2"), (std::vector<uint32_t>{3, 1, 2}));
}

TEST_F(SeedListTest, RangesAreInclusiveAndMixWithSeeds) {
    EXPECT_EQ(parse_seed_list("1-4,42"), (std::vector<uint32_t>{1, 2, 3, 4, 42}));
    EXPECT_EQ(parse_seed_list("7-7"), (std::vector<uint32_t>{7}));
    EXPECT_EQ(parse_seed_list(" 1 - 2 , 9 "), (std::vector<uint32_t>{1, 2, 9}));
}

TEST_F(SeedListTest, FullUint32RangeAccepted) {
    EXPECT_EQ(parse_seed_list("0,4294967295"), (std::vector<uint32_t>{0, 4294967295u}));
    EXPECT_EQ(parse_seed_list("4294967294-4294967295"), (std::vector<uint32_t>{4294967294u, 4294967295u}));
}

TEST_F(SeedListTest, DuplicatesRejected) {
    EXPECT_NE(error_of("1-8,4").find("seed 4 appears twice"), std::string::npos);
    EXPECT_NE(error_of("3,3").find("appears twice"), std::string::npos);
}

TEST_F(SeedListTest, OutOfRangeRejected) {
    EXPECT_NE(error_of("-1").find("bad seed '-1'"), std::string::npos);
    EXPECT_NE(error_of("4294967296").find("bad seed '4294967296'"), std::string::npos);
    EXPECT_NE(error_of("99999999999999999999").find("bad seed"), std::string::npos);
}

TEST_F(SeedListTest, BackwardRangeRejected) {
    EXPECT_NE(error_of("5-2").find("start 5 is greater than end 2"), std::string::npos);
}

TEST_F(SeedListTest, BadTextRejected) {
    for (const char* text : {"", "abc", "1,,2", "1,", "1-", "-", "1.5", "1-2-3", "0x10", "+3"}) {
        EXPECT_FALSE(error_of(text).empty()) << "'" << text << "' was accepted";
    }
    EXPECT_NE(error_of("1,abc").find("'abc'"), std::string::npos);
}

TEST_F(SeedListTest, HugeRangesRejected) {
    EXPECT_NE(error_of("0-4294967295").find("more than"), std::string::npos);
}

TEST_F(SeedListTest, FirstSeedsCountsFromZero) {
    EXPECT_EQ(first_seeds(3), (std::vector<uint32_t>{0, 1, 2}));
    EXPECT_THROW(first_seeds(0), Error);
    EXPECT_THROW(first_seeds(-5), Error);
}

}  // namespace
}  // namespace facegen::generate
