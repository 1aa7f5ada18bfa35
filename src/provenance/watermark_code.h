#pragma once

#include <cstdint>
#include <vector>

// The watermark's error-correcting code and the false-alarm bound of its acceptance test.
//
// Why a convolutional code: the channel gives a soft value per coded bit (how close each
// quantised coefficient sits to the lattice of a 0 or of a 1), and a Viterbi decoder uses
// those soft values directly, in ~60 lines, where a BCH code would need hard decisions or a
// far longer soft decoder. K=7 (64 states) keeps the Viterbi search cheap enough to run on
// every crop hypothesis. Rate 1/3 (the generators of 3GPP TS 36.212 sec. 5.1.3.1, free
// distance 15) rather than the classic rate 1/2 (171, 133): the redundancy also powers the
// false-alarm test, which at rate 1/3 accepts 13-16% hard errors instead of 6-9% for the same
// bound; measured at equal PSNR (~40 dB) on 100 faces, rate 1/3 finds more marks after every
// attack (e.g. x1.2: 76 -> 88, 4 px cropped off all edges and resized back: 91 -> 100),
// although each coded bit gets 2/3 of the energy.
namespace facegen::provenance::detail {

inline constexpr int kCodeConstraintLength = 7;
inline constexpr int kCodeTailBits = kCodeConstraintLength - 1;  // zeros that close the trellis
inline constexpr int kCodeRate = 3;                             // coded bits per input bit

/// Coded length for `n_info_bits` information bits (zero-terminated trellis).
constexpr int coded_length(int n_info_bits) { return kCodeRate * (n_info_bits + kCodeTailBits); }

/// Encodes the low `n_info_bits` of `info`, most significant first, then the tail. Returns
/// coded_length(n_info_bits) bits as 0/1.
std::vector<uint8_t> convolutional_encode(uint64_t info, int n_info_bits);

struct ViterbiResult {
    uint64_t info = 0;   // decoded information bits, most significant first
    int bit_errors = 0;  // hard decisions (soft < 0 -> 1) that differ from the re-encoded codeword
    /// sum of soft * (+1 for a coded 0, -1 for a coded 1) over the decoded codeword: what the
    /// decoder maximised, and the soft test's statistic.
    double correlation = 0;
};

/// Maximum-likelihood decoding of soft values (> 0 favours a coded 0, < 0 a coded 1; the
/// magnitude is the confidence). soft.size() must be coded_length(n_info_bits).
ViterbiResult viterbi_decode(const std::vector<double>& soft, int n_info_bits);

/// log10 of an upper bound on the probability that an unmarked image passes the acceptance
/// test "some admissible codeword lies within `bit_errors` hard errors of the received
/// word", on any of `n_hypotheses` tries. Admissible: the top `n_check_bits` information bits
/// are the given function (the check byte) of the others, so 2^(n_info - n_check) codewords.
///
/// Model (H0): on an unmarked image the hard decisions are fair, independent coins: each is
/// the parity of the key-dithered quantiser cell an unrelated coefficient falls in, and the
/// coefficients' spread is several cells wide. Union bound over the admissible codewords and
/// the tries:
///   n_hypotheses * 2^(n_info - n_check) * sum_{i <= bit_errors} C(n, i) / 2^n.
/// (A test on the soft distance instead, sum of |soft| over the disagreeing bits, was
/// measured worse: an attack's errors are not concentrated on low-confidence bits.)
double log10_false_alarm_bound(int bit_errors, int n_info_bits, int n_check_bits, int n_hypotheses);

/// log10 of an upper bound on the probability that an unmarked image passes the soft test
/// "some admissible codeword correlates with the weighted soft values at least
/// `correlation`", on any of `n_hypotheses` tries. Soft value i is weights[i] * cos(2 pi U_i)
/// under the same H0 (U_i uniform and independent; weights that depend only on other
/// coefficients, as the reliability weights do, keep that), so its moment generating function
/// is I0(lambda weights[i]) and Chernoff's bound per codeword is
///   min over lambda >= 0 of exp(-lambda correlation) prod_i I0(lambda weights[i]),
/// union-bounded over the admissible codewords and the tries as above. The soft test uses
/// how close each coefficient sits to its lattice, not only which side it falls on: after
/// half size and JPEG 75, 14 of 30 marks at 64 px pass it (with the reliability weights of
/// watermark_layout.h; 9 without) against 6 for the hard test.
double log10_false_alarm_bound_soft(double correlation, const std::vector<double>& weights, int n_info_bits, int n_check_bits,
                                    int n_hypotheses);

}  // namespace facegen::provenance::detail
