// style_interpolation.h: the style transform of the feature interpolation attack (FI, paper
// Eq. 10; algorithm.md §5.9): the embedding's style is replaced by a convex combination of
// style prototypes, i.e. AdaIN to an interpolated style:
//   t = ((e − μ_C)/σ_C) · σ* + μ*,   σ* = Σ_k w^σ_k σ_k,   μ* = Σ_k w^μ_k μ_k,
// with w^σ, w^μ on the probability simplex. A prototype is the per-channel (μ, σ) of the
// embedding of one training image of the input's class; the input's own (μ_C, σ_C) can be
// one more vertex (the official scaffolding does that).
//
// The weights are the variables themselves, kept on the simplex by Euclidean projection
// after every optimiser step (sort-based, Duchi et al. 2008), not a softmax of logits. Why:
// (1) it is the FA loop's own scheme (Adam step, then projection onto the feasible set), so
// clipping, learning rate and best-iterate bookkeeping mean the same thing for FA and FI;
// (2) the vertices are reachable exactly: one-hot weights give AdaIN to a single prototype
// bit for bit, and the attack can start at the identity (the own style); a softmax never
// reaches a vertex and its gradient vanishes as it approaches one; (3) the official
// ReLU-and-renormalise "regulate" step is not a projection (an all-non-positive row divides
// by 1e-7). One adjustment makes the projection work with Adam: before each step the
// gradient's per-row mean (its component normal to the simplex's plane, which the
// projection would undo anyway) is removed. Otherwise Adam's per-element normalisation turns
// a gradient whose entries share a sign into equal steps on every weight, which the
// projection cancels, and the weights never leave a vertex.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attack/style.h"
#include "attack/style_transform.h"
#include "layers/module.h"

namespace fsa {

// Style prototypes: the per-channel statistics of P embeddings, with their classes.
struct StylePrototypes {
  Tensor mean;                   // (P,C,1,1) host
  Tensor std;                    // (P,C,1,1) host, sqrt(biased variance + 1e-5)
  std::vector<int32_t> labels;   // (P) class of each prototype
  std::vector<int64_t> records;  // (P) where each image came from (for the record)
};

// A seeded choice of `per_class` indices of each class 0..classes−1 among `labels`, without
// replacement (a partial Fisher-Yates shuffle on the Philox stream of `seed`, one stream
// position per class); ascending within a class, classes in order. A class with fewer than
// `per_class` records is an fsa::Error.
std::vector<int64_t> choose_prototype_indices(const std::vector<int32_t>& labels, int64_t classes,
                                              int64_t per_class, uint64_t seed);

// The statistics of encoder(images) in batches of `batch`, without gradients. images
// (P,3,H,W) on the encoder's device, labels int32 (P); `records` (optional, else 0..P−1)
// numbers the images.
StylePrototypes compute_style_prototypes(Module& encoder, const Tensor& images,
                                         const Tensor& labels,
                                         const std::vector<int64_t>& records = {},
                                         int64_t batch = 100);

// t = normalized · Σ_k w^σ_k σ_k + Σ_k w^μ_k μ_k: normalized (N,C,H,W), weights (N,K,1),
// vertex statistics (N,K,C) -> (N,C,H,W); differentiable in every input.
Tensor interpolate_style(const Tensor& normalized, const Tensor& weights_sigma,
                         const Tensor& weights_mean, const Tensor& vertex_std,
                         const Tensor& vertex_mean);

// The Euclidean projection of v onto the probability simplex {w ≥ 0, Σ w = 1}.
std::vector<double> project_onto_simplex(const std::vector<double>& v);

enum class InterpolationStart {
  own,     // all weight on the input's own style: the identity transform (needs include_own)
  uniform  // 1/K on every vertex (the official scaffolding)
};
std::string to_string(InterpolationStart start);
InterpolationStart parse_interpolation_start(const std::string& name);  // "own" | "uniform"

struct InterpolationOptions {
  bool include_own = true;  // the input's own style is vertex 0
  InterpolationStart start = InterpolationStart::own;
  // One weight vector for σ and μ (the official scaffolding); false: independent points of
  // the two simplices S_σ and S_μ, as Eq. 10 allows.
  bool shared_weights = false;
};

class StyleInterpolation : public StyleTransform {
 public:
  // The vertices of an input of class y are [its own style,] the prototypes of class y;
  // every class attacked needs the same number of prototypes.
  StyleInterpolation(StylePrototypes prototypes, const InterpolationOptions& options);

  bool begin(const Tensor& clean_features, const Tensor& labels) override;
  // {w} (shared) or {w^σ, w^μ}, each (N,K,1).
  const std::vector<Tensor>& variables() const override { return variables_; }
  Tensor perturbed() const override;
  // Removes each gradient row's mean: the direction normal to the plane Σ_k w_k = 1.
  void prepare_gradients() override;
  void project() override;
  Tensor sigma_factor() const override;
  Tensor mean_factor() const override;

  // The vertex statistics of the current batch, (N,K,C), and K.
  const Tensor& vertex_std() const { return vertex_std_; }
  const Tensor& vertex_mean() const { return vertex_mean_; }
  int64_t vertex_count() const { return vertex_std_.defined() ? vertex_std_.dim(1) : 0; }
  const StylePrototypes& prototypes() const { return prototypes_; }
  const InterpolationOptions& options() const { return options_; }

 private:
  const Tensor& weights_sigma() const { return variables_[0]; }
  const Tensor& weights_mean() const { return variables_.back(); }
  Tensor interpolated_std() const;   // (N,C,1,1)
  Tensor interpolated_mean() const;  // (N,C,1,1)

  StylePrototypes prototypes_;
  InterpolationOptions options_;
  ChannelStats stats_;  // of the clean embedding, no history
  Tensor normalized_;   // (e − μ_C)/σ_C
  Tensor vertex_std_, vertex_mean_;
  std::vector<Tensor> variables_;
};

}  // namespace fsa
