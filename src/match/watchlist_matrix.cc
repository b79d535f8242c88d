#include "match/watchlist_matrix.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <thread>

#include "match/packed_scan.h"

namespace glassbox {
namespace {

// Rows kept from the 4-bit scan for each probe and scored exactly. The bounds usually prove
// the answer from far fewer; more only matter when many rows are about equally close.
constexpr std::size_t kCandidates = 32;
// Blocks scanned between two updates of the floors (the heaps' lowest bounds).
constexpr std::size_t kChunkBlocks = 128;
// Below this many blocks a search runs on the calling thread alone.
constexpr std::size_t kMinBlocksPerThread = 2048;
// The lowest floor: padding rows' bounds (-infinity) stay below it.
constexpr float kNoFloor = std::numeric_limits<float>::lowest();

// The key ranks rows "higher is closer" in both metrics: the dot product for cosine, and
// 2 p.t - |t|^2 = |p|^2 - distance^2 for euclidean (|p|^2 is the same for every row).
double key_factor(Metric metric) { return metric == Metric::kEuclidean ? 2.0 : 1.0; }

struct Heap {
  std::vector<packed::Candidate> items;  // a min-heap on the bound: the lowest is dropped first
  bool overflowed = false;             // some row was left out for being below the kept ones

  static bool lower(const packed::Candidate& a, const packed::Candidate& b) { return a.bound > b.bound; }
  void push(const packed::Candidate& c) {
    items.push_back(c);
    std::push_heap(items.begin(), items.end(), lower);
    if (items.size() > kCandidates) {
      std::pop_heap(items.begin(), items.end(), lower);
      items.pop_back();
      overflowed = true;
    }
  }
  bool full() const { return items.size() >= kCandidates; }
  float lowest() const { return items.front().bound; }
};

}  // namespace

// One probe's state through a search.
struct WatchlistMatrix::Query {
  const std::vector<float>* probe = nullptr;
  std::optional<double> threshold;     // the caller's, in the metric; nullopt: closest
  std::optional<double> threshold_key; // the same in key units
  std::vector<std::int8_t> bytes;
  std::int32_t offset = 0;
  float scale = 0.0f;
  float half_l1 = 0.0f;
  float margin = 0.0f;                 // float rounding of a bound
  double squared = 0.0;
  bool valid = false;
  std::optional<MatchResult> result;
};

WatchlistMatrix::WatchlistMatrix(Metric metric, int dimension)
    : metric_(metric), dimension_(dimension), dims8_((std::max(dimension, 1) + 7) / 8) {}

void WatchlistMatrix::reserve(std::size_t rows) {
  values_.reserve(rows * static_cast<std::size_t>(dimension_));
  squared_norms_.reserve(rows);
  const std::size_t padded = (rows + packed::kBlockRows - 1) / packed::kBlockRows * packed::kBlockRows;
  blocks_.reserve(padded / packed::kBlockRows * packed::block_bytes(dims8_));
  factor_.reserve(padded);
  term_.reserve(padded);
  alpha_.reserve(padded);
  entry_ids_.reserve(rows);
  subjects_.reserve(rows);
  scopes_.reserve(rows);
}

Status WatchlistMatrix::add(const WatchlistTemplate& row) {
  if (static_cast<int>(row.vector.size()) != dimension_) {
    return Error{"template of entry " + std::to_string(row.entry_id) + " has " + std::to_string(row.vector.size()) +
                 " values, the profile expects " + std::to_string(dimension_)};
  }
  double squared = 0.0, l1 = 0.0, largest = 0.0;
  for (float v : row.vector) {
    if (!std::isfinite(v)) return Error{"template of entry " + std::to_string(row.entry_id) + " holds a value that is not a number"};
    squared += static_cast<double>(v) * v;
    l1 += std::fabs(v);
    largest = std::max(largest, static_cast<double>(std::fabs(v)));
  }
  const std::size_t r = rows();
  if (r % packed::kBlockRows == 0) {
    // A new block; its rows stay padding (never reaching a floor) until they are filled.
    blocks_.resize(blocks_.size() + packed::block_bytes(dims8_), 0);
    factor_.resize(factor_.size() + packed::kBlockRows, 0.0f);
    term_.resize(term_.size() + packed::kBlockRows, std::numeric_limits<float>::infinity());
    alpha_.resize(alpha_.size() + packed::kBlockRows, 0.0f);
  }
  // Symmetric 4-bit quantisation with the row's own scale; stored offset by 8 (unsigned).
  const double scale = largest > 0.0 ? largest / packed::kTemplateMax : 0.0;
  std::uint8_t* block = blocks_.data() + (r / packed::kBlockRows) * packed::block_bytes(dims8_);
  const std::size_t lane = r % packed::kBlockRows;
  for (int k = 0; k < dims8_ * 8; ++k) {
    const long q = scale > 0.0 && k < dimension_ ? std::lround(row.vector[static_cast<std::size_t>(k)] / scale) : 0;
    const auto nibble = static_cast<std::uint8_t>(std::clamp<long>(q, -packed::kTemplateMax, packed::kTemplateMax) + packed::kTemplateOffset);
    std::uint8_t& byte = block[packed::nibble_byte(k, lane)];
    byte = packed::nibble_half(k) == 0 ? static_cast<std::uint8_t>((byte & 0xF0) | nibble) : static_cast<std::uint8_t>((byte & 0x0F) | (nibble << 4));
  }
  factor_[r] = static_cast<float>(key_factor(metric_) * scale);
  term_[r] = metric_ == Metric::kEuclidean ? static_cast<float>(squared) : 0.0f;
  // Each quantisation moves a value by at most half its scale, so for probe p (scale s_p):
  // |p.t - quantised dot| <= |t|_1 s_p / 2 + |p|_1 s_t / 2 + d s_p s_t / 4; the row's share of that
  // (times the key's factor c) is alpha per unit of s_p, and c s_t / 2 = factor / 2 per unit of |p|_1.
  const double c = key_factor(metric_);
  alpha_[r] = static_cast<float>(c * (l1 / 2.0 + dimension_ * scale / 4.0));
  max_row_norm_ = std::max(max_row_norm_, std::sqrt(squared));

  values_.insert(values_.end(), row.vector.begin(), row.vector.end());
  squared_norms_.push_back(squared);
  entry_ids_.push_back(row.entry_id);
  subjects_.push_back(row.subject);
  scopes_.push_back(row.scope);
  return ok_status();
}

std::size_t WatchlistMatrix::entries() const { return std::set<std::int64_t>(entry_ids_.begin(), entry_ids_.end()).size(); }

std::size_t WatchlistMatrix::template_bytes() const {
  return values_.size() * sizeof(float) + squared_norms_.size() * sizeof(double) + blocks_.size() +
         (factor_.size() + term_.size() + alpha_.size()) * sizeof(float);
}

bool WatchlistMatrix::in_scope(std::size_t row, const std::string& camera) const {
  const auto& scope = scopes_[row];
  return camera.empty() || scope.empty() || std::find(scope.begin(), scope.end(), camera) != scope.end();
}

double WatchlistMatrix::exact_key(std::size_t row, const std::vector<float>& probe) const {
  const float* t = values_.data() + row * static_cast<std::size_t>(dimension_);
  double dot = 0.0;
  for (int k = 0; k < dimension_; ++k) dot += static_cast<double>(t[k]) * probe[static_cast<std::size_t>(k)];
  return metric_ == Metric::kEuclidean ? 2.0 * dot - squared_norms_[row] : dot;
}

std::optional<MatchResult> WatchlistMatrix::best_match(const std::vector<float>& probe, double threshold, const std::string& camera) const {
  return std::move(best_matches({probe}, threshold, camera).front());
}

std::optional<MatchResult> WatchlistMatrix::closest(const std::vector<float>& probe, const std::string& camera) const {
  return std::move(closest_all({probe}, camera).front());
}

std::vector<std::optional<MatchResult>> WatchlistMatrix::best_matches(const std::vector<std::vector<float>>& probes, double threshold,
                                                                      const std::string& camera, int threads, MatchWork* work) const {
  return search(probes, threshold, camera, threads, work);
}

std::vector<std::optional<MatchResult>> WatchlistMatrix::closest_all(const std::vector<std::vector<float>>& probes,
                                                                     const std::string& camera, int threads, MatchWork* work) const {
  return search(probes, std::nullopt, camera, threads, work);
}

std::vector<std::optional<MatchResult>> WatchlistMatrix::search(const std::vector<std::vector<float>>& probes,
                                                                std::optional<double> threshold, const std::string& camera, int threads,
                                                                MatchWork* work) const {
  std::vector<Query> queries(probes.size());
  const double c = key_factor(metric_);
  for (std::size_t i = 0; i < probes.size(); ++i) {
    Query& q = queries[i];
    q.probe = &probes[i];
    q.threshold = threshold;
    if (rows() == 0 || static_cast<int>(probes[i].size()) != dimension_) continue;
    double largest = 0.0, l1 = 0.0, squared = 0.0;
    bool finite = true;
    for (float v : probes[i]) {
      finite = finite && std::isfinite(v);
      largest = std::max(largest, static_cast<double>(std::fabs(v)));
      l1 += std::fabs(v);
      squared += static_cast<double>(v) * v;
    }
    if (!finite) continue;
    q.valid = true;
    q.squared = squared;
    const double scale = largest > 0.0 ? largest / packed::kProbeMax : 1.0;
    q.scale = static_cast<float>(scale);
    q.bytes.assign(static_cast<std::size_t>(dims8_) * 8, 0);
    std::int32_t sum = 0;
    for (int k = 0; k < dimension_; ++k) {
      const long b = std::clamp<long>(std::lround(probes[i][static_cast<std::size_t>(k)] / scale), -packed::kProbeMax, packed::kProbeMax);
      q.bytes[static_cast<std::size_t>(k)] = static_cast<std::int8_t>(b);
      sum += static_cast<std::int32_t>(b);
    }
    q.offset = packed::kTemplateOffset * sum;
    q.half_l1 = static_cast<float>(l1 / 2.0);
    // Float rounding of a bound: a few units in the last place of its parts, with room to spare.
    q.margin = static_cast<float>(1e-5 * (c * std::sqrt(squared) * max_row_norm_ + max_row_norm_ * max_row_norm_ + 1.0));
    if (threshold) {
      if (metric_ == Metric::kEuclidean) {
        q.threshold_key = *threshold >= 0.0 ? squared - *threshold * *threshold : std::numeric_limits<double>::infinity();
      } else {
        q.threshold_key = *threshold;
      }
    }
  }
  MatchWork local;
  for (std::size_t first = 0; first < queries.size(); first += packed::kMaxProbes) {
    std::vector<Query*> group;
    for (std::size_t i = first; i < std::min(queries.size(), first + packed::kMaxProbes); ++i)
      if (queries[i].valid) group.push_back(&queries[i]);
    if (!group.empty()) search_group(group, camera, threads, local);
  }
  if (work != nullptr) {
    work->candidates += local.candidates;
    work->rescans += local.rescans;
  }
  std::vector<std::optional<MatchResult>> out;
  out.reserve(queries.size());
  for (Query& q : queries) out.push_back(std::move(q.result));
  return out;
}

void WatchlistMatrix::search_group(const std::vector<Query*>& queries, const std::string& camera, int threads, MatchWork& work) const {
  const int count = static_cast<int>(queries.size());
  const std::size_t blocks = factor_.size() / packed::kBlockRows;
  std::vector<std::int8_t> bytes(static_cast<std::size_t>(count) * dims8_ * 8);
  std::vector<std::int32_t> offsets(static_cast<std::size_t>(count));
  std::vector<float> scales(static_cast<std::size_t>(count));
  std::vector<float> half_l1s(static_cast<std::size_t>(count)), margins(static_cast<std::size_t>(count));
  std::vector<float> base_floor(static_cast<std::size_t>(count));
  for (std::size_t p = 0; p < queries.size(); ++p) {
    const Query& q = *queries[p];
    std::copy(q.bytes.begin(), q.bytes.end(), bytes.begin() + static_cast<std::ptrdiff_t>(p) * dims8_ * 8);
    offsets[p] = q.offset;
    scales[p] = q.scale;
    half_l1s[p] = q.half_l1;
    margins[p] = q.margin;
    // Rows whose bound is below the threshold cannot match.
    base_floor[p] = q.threshold_key ? static_cast<float>(*q.threshold_key) : kNoFloor;
  }
  const packed::RowSet row_set{blocks_.data(), factor_.data(), term_.data(), alpha_.data(), dims8_};

  // Scans blocks [from, to) into one heap per probe, raising each probe's floor to its heap's
  // lowest key once the heap is full.
  auto scan_range = [&](std::size_t from, std::size_t to, std::vector<Heap>& heaps) {
    std::vector<float> floors = base_floor;
    std::vector<packed::Candidate> found;
    const packed::ProbeSet probe_set{bytes.data(), offsets.data(), scales.data(), half_l1s.data(), margins.data(), floors.data(), count};
    for (std::size_t b = from; b < to; b += kChunkBlocks) {
      found.clear();
      packed::scan(row_set, b, std::min(kChunkBlocks, to - b), probe_set, found);
      for (const packed::Candidate& c : found) {
        const auto p = static_cast<std::size_t>(c.probe);
        if (c.bound < floors[p] || c.row >= rows() || !in_scope(c.row, camera)) continue;
        heaps[p].push(c);
        if (heaps[p].full()) floors[p] = std::max(floors[p], heaps[p].lowest());
      }
    }
  };

  std::vector<Heap> heaps(static_cast<std::size_t>(count));
  const int parts = static_cast<int>(std::clamp<std::size_t>(blocks / kMinBlocksPerThread, 1, static_cast<std::size_t>(std::max(threads, 1))));
  if (parts <= 1) {
    scan_range(0, blocks, heaps);
  } else {
    std::vector<std::vector<Heap>> partial(static_cast<std::size_t>(parts), std::vector<Heap>(static_cast<std::size_t>(count)));
    std::vector<std::thread> pool;
    const std::size_t per = (blocks + static_cast<std::size_t>(parts) - 1) / static_cast<std::size_t>(parts);
    for (int t = 1; t < parts; ++t) {
      const std::size_t from = per * static_cast<std::size_t>(t), to = std::min(blocks, from + per);
      pool.emplace_back([&, from, to, t] { scan_range(from, to, partial[static_cast<std::size_t>(t)]); });
    }
    scan_range(0, std::min(blocks, per), partial[0]);
    for (auto& th : pool) th.join();
    // The union's best kCandidates: a row dropped here is below every kept one.
    for (auto& part : partial)
      for (std::size_t p = 0; p < heaps.size(); ++p) {
        heaps[p].overflowed = heaps[p].overflowed || part[p].overflowed;
        for (const auto& c : part[p].items) heaps[p].push(c);
      }
  }

  for (int p = 0; p < count; ++p) {
    Query& q = *queries[static_cast<std::size_t>(p)];
    Heap& heap = heaps[static_cast<std::size_t>(p)];
    std::optional<std::size_t> best_row;
    double best_key = -std::numeric_limits<double>::infinity();
    auto consider = [&](std::size_t row) {
      ++work.candidates;
      const double key = exact_key(row, *q.probe);
      if (!best_row || key > best_key || (key == best_key && row < *best_row)) {
        best_key = key;
        best_row = row;
      }
    };
    for (const auto& c : heap.items) consider(c.row);
    // Every row left out has a bound, and so a true key, at most the heap's lowest. If that is
    // below the best exact key (and the threshold), the answer stands; otherwise every row
    // whose bound reaches them is scored too.
    const double needed = std::max(best_key, q.threshold_key.value_or(-std::numeric_limits<double>::infinity()));
    if (heap.overflowed && !heap.items.empty() && static_cast<double>(heap.lowest()) >= needed) {
      ++work.rescans;
      const float floor = static_cast<float>(needed);
      std::vector<packed::Candidate> found;
      const packed::ProbeSet probe_set{q.bytes.data(), &q.offset, &q.scale, &q.half_l1, &q.margin, &floor, 1};
      for (std::size_t b = 0; b < blocks; b += kChunkBlocks) {
        found.clear();
        packed::scan(row_set, b, std::min(kChunkBlocks, blocks - b), probe_set, found);
        for (const auto& c : found)
          if (c.row < rows() && in_scope(c.row, camera)) consider(c.row);
      }
    }
    if (!best_row) continue;
    const double score = metric_ == Metric::kEuclidean ? std::sqrt(std::max(0.0, q.squared - best_key)) : best_key;
    if (q.threshold && !ModelProfile::is_match(metric_, score, *q.threshold)) continue;
    q.result = MatchResult{entry_ids_[*best_row], subjects_[*best_row], score};
  }
}

}  // namespace glassbox
