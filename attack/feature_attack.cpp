// feature_attack.cpp: the FA attack loop. Bookkeeping of the best iterate is per sample on
// the host; the tensors of one step stay on the modules' device.
#include "attack/feature_attack.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "attack/rows.h"
#include "autograd/grad_mode.h"
#include "autograd/ops.h"
#include "autograd/optim/clip_gradients.h"
#include "autograd/optim/lr_schedule.h"
#include "autograd/variable.h"
#include "tensor/device_graph.h"
#include "tensor/random.h"

namespace fsa {

std::string to_string(AdversarialLoss loss) { return loss == AdversarialLoss::cw ? "cw" : "ce"; }

AdversarialLoss parse_adversarial_loss(const std::string& name) {
  if (name == "cw") return AdversarialLoss::cw;
  if (name == "ce") return AdversarialLoss::cross_entropy;
  fail("[attack] unknown loss '", name, "': expected cw or ce");
}

std::string to_string(TargetPolicy policy) {
  switch (policy) {
    case TargetPolicy::none:
      return "none";
    case TargetPolicy::random:
      return "random";
    case TargetPolicy::least_likely:
      return "least-likely";
    case TargetPolicy::given:
      return "given";
  }
  return "none";
}

TargetPolicy parse_target_policy(const std::string& name) {
  for (TargetPolicy p : {TargetPolicy::none, TargetPolicy::random, TargetPolicy::least_likely,
                         TargetPolicy::given}) {
    if (name == to_string(p)) return p;
  }
  fail("[attack] unknown target policy '", name, "': expected none, random, least-likely or given");
}

FaOptions fa_preset(const std::string& name) {
  FaOptions options;
  if (name == "paper") return options;
  FSA_CHECK(name == "official", "[fa] unknown preset '", name, "': expected paper or official");
  options.preset = "official";
  options.parameterisation = StyleParameterisation::official;
  options.adv_weight = 500.0;
  options.adv_weight_times_batch = true;
  options.reset_optimizer_per_batch = false;
  options.iterations = 2000;
  return options;
}

namespace {

void check_options(const FaOptions& o) {
  FSA_CHECK(o.iterations >= 0, "[fa] iterations must be >= 0, got ", o.iterations);
  FSA_CHECK(o.top_k >= 1, "[fa] top_k must be >= 1, got ", o.top_k);
  FSA_CHECK(o.adv_weight >= 0.0, "[fa] adv_weight must be >= 0, got ", o.adv_weight);
  FSA_CHECK(o.lr > 0.0 && o.lr_decay >= 0.0, "[fa] need lr > 0 and lr_decay >= 0, got ", o.lr,
            " and ", o.lr_decay);
  FSA_CHECK(o.target_policy == TargetPolicy::none || o.top_k == 1,
            "[fa] a targeted attack uses top_k = 1, got ", o.top_k);
  FSA_CHECK(o.target_policy != TargetPolicy::given || o.target_label >= 0,
            "[fa] the `given` target policy needs target_label >= 0");
}

// Per-sample content loss Σ_c mean_hw (r − t)²: (N,C,H,W) x2 -> (N)
Tensor content_loss(const Tensor& reencoded, const Tensor& target) {
  const Tensor diff = reencoded - target;
  return sum(mean(diff * diff, {2, 3}), {1});
}

}  // namespace

FeatureAttack::FeatureAttack(Module& encoder, Module& decoder, Module& classifier,
                             const FaOptions& options)
    : FeatureAttack(
          encoder, decoder, classifier, options,
          std::make_unique<StylePerturbation>(options.parameterisation, options.epsilon)) {}

FeatureAttack::FeatureAttack(Module& encoder, Module& decoder, Module& classifier,
                             const FaOptions& options, std::unique_ptr<StyleTransform> transform)
    : encoder_(encoder),
      decoder_(decoder),
      classifier_(classifier),
      options_(options),
      transform_(std::move(transform)) {
  check_options(options_);
  FSA_CHECK(transform_ != nullptr, "[fa] no style transform");
  for (Module* m : {&encoder_, &decoder_, &classifier_}) {
    m->eval();
    m->requires_grad(false);
  }
}

StylePerturbation& FeatureAttack::perturbation() {
  auto* perturbation = dynamic_cast<StylePerturbation*>(transform_.get());
  FSA_CHECK(perturbation != nullptr, "[fa] this attack does not use FA's style perturbation");
  return *perturbation;
}

double FeatureAttack::effective_adv_weight() const {
  return options_.adv_weight_times_batch ? options_.adv_weight * static_cast<double>(batch_size_)
                                         : options_.adv_weight;
}

double FeatureAttack::gradient_clip() const {
  if (options_.grad_clip >= 0.0) return options_.grad_clip;
  const auto& vars = transform_->variables();
  FSA_CHECK(!vars.empty(), "[fa] gradient_clip() before begin()");
  const double channels = static_cast<double>(vars[0].dim(1));
  return std::pow(channels, 0.25) / std::sqrt(10.0);
}

Tensor FeatureAttack::choose_targets(const Tensor& images, const Tensor& labels,
                                     int64_t first_record) {
  const std::vector<int32_t> y = label_vector(labels);
  std::vector<int32_t> targets = y;
  if (options_.target_policy == TargetPolicy::none) return labels;
  NoGradGuard no_grad;
  const Tensor logits = classifier_(images);
  const int64_t classes = logits.dim(1);
  const std::vector<double> z = logits.to_vector();
  for (size_t i = 0; i < y.size(); ++i) {
    switch (options_.target_policy) {
      case TargetPolicy::random: {
        const double u = philox_uniform(options_.seed, static_cast<uint64_t>(first_record) + i);
        const auto shift = 1 + static_cast<int64_t>(u * static_cast<double>(classes - 1));
        targets[i] = static_cast<int32_t>((y[i] + shift) % classes);
        break;
      }
      case TargetPolicy::least_likely: {
        const double* row = z.data() + i * static_cast<size_t>(classes);
        targets[i] = static_cast<int32_t>(std::min_element(row, row + classes) - row);
        break;
      }
      case TargetPolicy::given:
        FSA_CHECK(options_.target_label < classes, "[fa] target label ", options_.target_label,
                  " is not a class of a ", classes, "-class classifier");
        targets[i] = options_.target_label;
        break;
      case TargetPolicy::none:
        break;
    }
  }
  return Tensor::from_labels(targets, labels.device());
}

void FeatureAttack::begin(const Tensor& images, const Tensor& labels, int64_t first_record) {
  FSA_CHECK(images.ndim() == 4 && images.dim(1) == 3, "[fa] expects RGB images (N,3,H,W), got ",
            images.shape());
  FSA_CHECK(labels.ndim() == 1 && labels.dim(0) == images.dim(0), "[fa] labels ", labels.shape(),
            " do not match images ", images.shape());
  batch_size_ = images.dim(0);
  labels_ = labels;
  targets_ = choose_targets(images, labels, first_record);
  Tensor features;
  {
    NoGradGuard no_grad;
    features = encoder_(images);
  }
  const bool recreated = transform_->begin(features, labels);
  if (recreated || options_.reset_optimizer_per_batch || optimizer_ == nullptr) {
    optimizer_ =
        std::make_unique<Adam>(transform_->variables(), AdamParams{.lr = options_.lr,
                                                                   .beta1 = options_.beta1,
                                                                   .beta2 = options_.beta2,
                                                                   .eps = options_.adam_eps,
                                                                   .form = options_.adam_form});
  }
  step_ = 0;
}

FaEvaluation FeatureAttack::evaluate() {
  FSA_CHECK(batch_size_ > 0, "[fa] evaluate() before begin()");
  FaEvaluation e;
  const Tensor target = transform_->perturbed();             // (N,C,h,w)
  e.image = clamp(decoder_(target), 0.0, 1.0);               // (N,3,H,W)
  e.logits = classifier_(e.image);                           // (N,K)
  e.content_loss = content_loss(encoder_(e.image), target);  // (N)
  const bool targeted = options_.target_policy != TargetPolicy::none;
  if (options_.loss == AdversarialLoss::cw) {
    e.adversarial_loss = cw_margin(
        e.logits, targets_,
        CwMarginParams{.kappa = options_.kappa, .top_k = options_.top_k, .targeted = targeted});
  } else {
    const Tensor ce = softmax_cross_entropy(e.logits, targets_);
    e.adversarial_loss = targeted ? ce : -ce;
  }
  e.total = sum(e.content_loss + e.adversarial_loss * effective_adv_weight());
  return e;
}

void FeatureAttack::backward(const FaEvaluation& evaluation) {
  optimizer_->zero_grad();
  fsa::backward(evaluation.total);
}

void FeatureAttack::update() {
  transform_->prepare_gradients();
  const double clip = gradient_clip();
  if (clip > 0.0) clip_gradients_elementwise(transform_->variables(), clip);
  optimizer_->set_lr(InverseTimeDecayLr(options_.lr, options_.lr_decay).lr(step_));
  optimizer_->step();
  transform_->project();
  ++step_;
}

std::vector<uint8_t> FeatureAttack::successes(const Tensor& logits) const {
  const std::vector<int32_t> targets = label_vector(targets_);
  if (options_.target_policy != TargetPolicy::none) {
    const std::vector<int32_t> predicted = predictions(logits);
    std::vector<uint8_t> hit(targets.size());
    for (size_t i = 0; i < hit.size(); ++i) hit[i] = predicted[i] == targets[i] ? 1 : 0;
    return hit;
  }
  std::vector<uint8_t> kept = in_top_k(logits, targets, options_.top_k);
  for (uint8_t& k : kept) k = k ? 0 : 1;
  return kept;
}

namespace {

// The per-sample record of the best iterate so far.
struct BestIterates {
  Tensor image;                   // host (N,3,H,W)
  std::vector<Tensor> variables;  // host copies of the style variables
  std::vector<uint8_t> success;
  std::vector<double> content_loss;
  std::vector<int64_t> first_success;

  // Replaces sample i where (success, content loss) is better; returns the mask replaced.
  std::vector<uint8_t> offer(const FaEvaluation& e, const std::vector<uint8_t>& now_success,
                             const std::vector<Tensor>& vars, int64_t iteration) {
    const std::vector<double> closs = e.content_loss.to_vector();
    const size_t n = closs.size();
    std::vector<uint8_t> better(n, 0);
    for (size_t i = 0; i < n; ++i) {
      if (now_success[i] && first_success[i] < 0) first_success[i] = iteration;
      better[i] = (now_success[i] > success[i]) ||
                  (now_success[i] == success[i] && closs[i] < content_loss[i]);
      if (!better[i]) continue;
      success[i] = now_success[i];
      content_loss[i] = closs[i];
    }
    copy_rows(image, e.image, better);
    for (size_t v = 0; v < vars.size(); ++v) copy_rows(variables[v], vars[v], better);
    return better;
  }
};

// Each step's evaluation and backward. Eagerly on the CPU; on a GPU the second step records
// them once as a device graph (the first, eager, fills cuDNN's algorithm cache and every
// other lazily made constant) and every later step replays it: the same kernels on the same
// tensors, none launched one by one from the host. The recorded gradient tensors are put
// back on the variables after each replay, since the update replaces them (clipping).
class StepRunner {
 public:
  StepRunner(FeatureAttack& attack, const std::vector<Tensor>& variables, bool use_graph)
      : attack_(attack), variables_(variables), use_graph_(use_graph) {}

  // The evaluation at the current variables; in graph mode their gradients come with it.
  const FaEvaluation& evaluate(int64_t iteration) {
    if (!use_graph_ || iteration == 0) {
      eager_ = attack_.evaluate();
      return eager_;
    }
    if (!graph_) record();
    graph_->replay();
    return recorded_;
  }

  // Fills the variables' gradients of the last evaluation.
  void backward() {
    if (graph_) {
      for (size_t i = 0; i < variables_.size(); ++i) set_grad(variables_[i], gradients_[i]);
      return;
    }
    attack_.backward(eager_);
    eager_ = FaEvaluation();  // frees the autograd graph before the update
  }

 private:
  void record() {
    for (const Tensor& v : variables_) zero_grad(v);  // so the recording assigns fresh ones
    graph_.emplace(variables_.front().device(), [this] {
      recorded_ = attack_.evaluate();
      fsa::backward(recorded_.total);
    });
    for (const Tensor& v : variables_) gradients_.push_back(grad(v));
  }

  FeatureAttack& attack_;
  const std::vector<Tensor>& variables_;
  bool use_graph_;
  FaEvaluation eager_, recorded_;
  std::optional<DeviceGraph> graph_;
  std::vector<Tensor> gradients_;
};

}  // namespace

FaBatchResult FeatureAttack::run(const Tensor& images, const Tensor& labels, int64_t first_record,
                                 const FaProgress& progress) {
  begin(images, labels, first_record);
  const size_t n = static_cast<size_t>(batch_size_);
  const std::vector<Tensor>& vars = transform_->variables();

  FaBatchResult result;
  BestIterates best;
  best.success.assign(n, 0);
  best.content_loss.assign(n, std::numeric_limits<double>::infinity());
  best.first_success.assign(n, -1);
  std::vector<uint8_t> frozen(n, 0);
  StepRunner steps(*this, vars,
                   options_.record_graph && DeviceGraph::supported(images.device()));

  for (int64_t iteration = 0;; ++iteration) {
    const FaEvaluation& e = steps.evaluate(iteration);
    const std::vector<uint8_t> now_success = successes(e.logits);
    if (iteration == 0) {
      best.image = host_clone(e.image);
      for (const Tensor& v : vars) best.variables.push_back(host_clone(detach(v)));
      result.decoded = host_clone(e.image);
      result.initial_content_loss = e.content_loss.to_vector();
    }
    best.offer(e, now_success, vars, iteration);
    const auto successes_so_far = std::count_if(
        best.first_success.begin(), best.first_success.end(), [](int64_t s) { return s >= 0; });
    if (progress) progress(iteration, successes_so_far);
    if (options_.early_stop) {
      for (size_t i = 0; i < n; ++i) frozen[i] = best.first_success[i] >= 0;
      if (std::all_of(frozen.begin(), frozen.end(), [](uint8_t f) { return f != 0; })) break;
    }
    if (iteration == options_.iterations) break;
    steps.backward();
    update();
    result.iterations_run = iteration + 1;
    if (options_.early_stop) {
      // Frozen samples go back to their kept point (their first success).
      for (size_t v = 0; v < vars.size(); ++v) {
        Tensor merged = host_clone(detach(vars[v]));
        copy_rows(merged, best.variables[v], frozen);
        vars[v].copy_from(merged);
      }
    }
  }

  result.adversarial = best.image;
  result.targets = targets_;
  result.success = best.success;
  result.first_success = best.first_success;
  result.content_loss = best.content_loss;
  {
    // The factors of the kept point: evaluate them with the best variables in place.
    std::vector<Tensor> current;
    for (const Tensor& v : vars) current.push_back(host_clone(detach(v)));
    for (size_t v = 0; v < vars.size(); ++v) vars[v].copy_from(best.variables[v]);
    result.sigma_factor = host_clone(transform_->sigma_factor());
    result.mean_factor = host_clone(transform_->mean_factor());
    for (size_t v = 0; v < vars.size(); ++v) vars[v].copy_from(current[v]);
  }
  return result;
}

}  // namespace fsa
