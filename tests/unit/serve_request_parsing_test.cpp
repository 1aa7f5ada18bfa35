// What HTTP clients send, checked before it reaches the model (src/serve/request_parsing).
#include <gtest/gtest.h>

#include "serve/base64.h"
#include "serve/request_parsing.h"

namespace facegen::serve {
namespace {

/// `action` must throw RequestError with `status` and `fragment` in its message.
template <typename Action>
void expect_rejected(Action action, const std::string& fragment, int status = 400) {
    try {
        action();
    } catch (const RequestError& e) {
        EXPECT_EQ(e.status(), status);
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << "'" << fragment << "' not in: " << e.what();
        return;
    }
    ADD_FAILURE() << "expected a RequestError mentioning '" << fragment << "'";
}

TEST(ServeRequestParsingTest, SeedsCoverNumpysRangeExactly) {
    EXPECT_EQ(parse_seed("0"), 0u);
    EXPECT_EQ(parse_seed("4294967295"), 4294967295u);
    EXPECT_EQ(parse_seed("007"), 7u);
    for (const char* bad : {"4294967296", "-1", "+1", " 1", "1 ", "1e3", "0x10", "", "99999999999999999999"}) {
        expect_rejected([&] { parse_seed(bad); }, "is not an integer in 0..4294967295");
    }
}

TEST(ServeRequestParsingTest, PsiIsAFiniteNumberInRange) {
    const RequestLimits limits;
    EXPECT_EQ(parse_psi("0", limits), 0.0);
    EXPECT_EQ(parse_psi("2", limits), 2.0);
    EXPECT_EQ(parse_psi("0.7", limits), 0.7);
    expect_rejected([&] { parse_psi("nan", limits); }, "psi 'nan' is not a finite number");
    expect_rejected([&] { parse_psi("-inf", limits); }, "not a finite number");
    expect_rejected([&] { parse_psi("2.0001", limits); }, "psi '2.0001' is outside 0..2");
    expect_rejected([&] { parse_psi("-0.5", limits); }, "outside 0..2");
    expect_rejected([&] { parse_psi(" 1", limits); }, "is not a number");
    expect_rejected([&] { parse_psi("1,5", limits); }, "psi '1,5' is not a number");
}

TEST(ServeRequestParsingTest, FaceQueryTakesSeedPsiEditAndRejectsUnknownAndRepeated) {
    const RequestLimits limits;
    const FaceQuery query = parse_face_query({{"seed", "5"}, {"psi", "0.5"}, {"edit", "age=+10"}}, limits);
    EXPECT_EQ(query.seed, 5u);
    EXPECT_EQ(query.psi, 0.5);
    EXPECT_EQ(query.edit, "age=+10");
    EXPECT_FALSE(parse_face_query({}, limits).seed.has_value());
    EXPECT_TRUE(parse_face_query({}, limits).edit.empty());
    expect_rejected([&] { parse_face_query({{"seed", "1"}, {"seed", "2"}}, limits); }, "more than once");
    expect_rejected([&] { parse_face_query({{"zoom", "1"}}, limits); }, "unknown query parameter 'zoom'");
}

// What people type in a query: `edit=age=+20` splits at the first '=' only, and '+'
// (a space in a query) comes back as the sign of the change.
TEST(ServeRequestParsingTest, QueryStringSplitsAtTheFirstEqualsSignAndDecodes) {
    const QueryParams params = parse_query_string("seed=42&edit=age=+20&psi=0.5");
    ASSERT_EQ(params.size(), 3u);
    EXPECT_EQ(params.find("seed")->second, "42");
    EXPECT_EQ(params.find("edit")->second, "age= 20");
    EXPECT_EQ(params.find("psi")->second, "0.5");
    EXPECT_EQ(parse_query_string("edit=age%3D%2B20").find("edit")->second, "age=+20");
    EXPECT_EQ(parse_query_string("edit=age%3d%2b20%2Csmiling%3D-1").find("edit")->second, "age=+20,smiling=-1");
    const QueryParams sparse = parse_query_string("a=1&&b&c=");
    EXPECT_EQ(sparse.size(), 3u);
    EXPECT_EQ(sparse.find("b")->second, "");
    EXPECT_EQ(sparse.find("c")->second, "");
    EXPECT_TRUE(parse_query_string("").empty());
    for (const char* bad : {"psi=50%", "psi=%4", "edit=age%3G1", "%zz=1"}) {
        expect_rejected([&] { parse_query_string(bad); }, "'%' must start an escape of two hex digits");
    }
}

TEST(ServeRequestParsingTest, FaceQueryEditsAsPeopleTypeThem) {
    const RequestLimits limits;
    const auto edit_of = [&](const std::string& query) {
        return parse_face_query(parse_query_string(query), limits).edit;
    };
    EXPECT_EQ(edit_of("seed=42&edit=age=+20"), "age=+20");
    EXPECT_EQ(edit_of("edit=age=20"), "age=20");
    EXPECT_EQ(edit_of("edit=age=-5"), "age=-5");
    EXPECT_EQ(edit_of("edit=age=%2B20"), "age=+20");
    EXPECT_EQ(edit_of("edit=age%3D%2B20"), "age=+20");
    EXPECT_EQ(edit_of("edit=age=%2020"), "age=+20") << "the '+' a query turned into a space";
    EXPECT_EQ(edit_of("edit=age=+.5"), "age=+.5");
    EXPECT_EQ(edit_of("edit=age=+20,smiling=+2,yaw=-10"), "age=+20,smiling=+2,yaw=-10");
    EXPECT_EQ(edit_of("edit=age=+20&edit=smiling=+2"), "age=+20,smiling=+2") << "repeated edits join";
    EXPECT_EQ(edit_of("edit="), "");
    // Only a space before a number is a lost '+'; anything else stays, to be refused by name.
    EXPECT_EQ(edit_of("edit=age=+x"), "age= x");
    EXPECT_EQ(edit_of("edit=age+20"), "age 20");
    expect_rejected([&] { edit_of("seed=1&seed=1"); }, "'seed' is given more than once");
}

TEST(ServeRequestParsingTest, UploadedFileIsTheFirstFilePart) {
    EXPECT_EQ(uploaded_file({{"note", "", "hello"}, {"file", "photo.jpg", "JPEG"}, {"other", "b.png", "PNG"}}), "JPEG");
    EXPECT_EQ(uploaded_file({{"file", "", "bytes"}, {"note", "", "hello"}}), "bytes") << "curl -F file=<photo.jpg";
    expect_rejected([] { uploaded_file({}); }, "has no part");
}

TEST(ServeRequestParsingTest, GenerateBodyOfSeeds) {
    const RequestLimits limits;
    const GenerateBody body = parse_generate_body(
        R"({"seeds": [1, 4294967295], "psi": 0.5, "truncation_cutoff": 2, "format": "base64", "edit": "age=+5"})",
        limits);
    const generate::Request& request = body.request;
    EXPECT_EQ(body.edit, "age=+5");
    EXPECT_EQ(request.seeds, (std::vector<uint32_t>{1, 4294967295u}));
    EXPECT_EQ(request.truncation_psi, 0.5);
    EXPECT_EQ(request.truncation_cutoff, 2);
    EXPECT_FALSE(request.latents.has_value());
    EXPECT_EQ(request.noise_mode, model::NoiseMode::Const);
}

TEST(ServeRequestParsingTest, GenerateBodyOfLatentsKeepsShapeAndValues) {
    const RequestLimits limits;
    const generate::Request request =
        parse_generate_body(R"({"latents": {"space": "ws", "values": [[[1, 2, 3], [4, 5, 6]]]}})", limits).request;
    ASSERT_TRUE(request.latents.has_value());
    EXPECT_EQ(request.latents->space, generate::LatentSpace::WS);
    EXPECT_EQ(request.latents->values.sizes(), (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(request.latents->values[0][1][2].item<float>(), 6.0f);
    EXPECT_FALSE(request.truncation_psi.has_value()) << "absent psi: the Session's default for the space";
}

TEST(ServeRequestParsingTest, GenerateBodyLimitsImagesPerRequest) {
    RequestLimits limits;
    limits.max_images = 2;
    expect_rejected([&] { parse_generate_body(R"({"seeds": [1, 2, 3]})", limits); },
                    "3 seeds in one request; at most 2");
    expect_rejected([&] { parse_generate_body(R"({"latents": {"space": "z", "values": [[1], [2], [3]]}})", limits); },
                    "3 latents in one request; at most 2");
    expect_rejected([&] { parse_generate_body(R"({"seeds": [1], "edit": {"age": 1}})", limits); },
                    "'edit' must be a string");
}

TEST(ServeRequestParsingTest, Base64MatchesRfc4648Vectors) {
    EXPECT_EQ(encode_base64(""), "");
    EXPECT_EQ(encode_base64("f"), "Zg==");
    EXPECT_EQ(encode_base64("fo"), "Zm8=");
    EXPECT_EQ(encode_base64("foo"), "Zm9v");
    EXPECT_EQ(encode_base64("foobar"), "Zm9vYmFy");
    EXPECT_EQ(encode_base64(std::string("\xff\xfe\x00", 3)), "//4A");
}

}  // namespace
}  // namespace facegen::serve
