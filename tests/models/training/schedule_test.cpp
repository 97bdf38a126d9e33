#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>

#include "models/training/schedule.h"

using namespace seqzoo;

TEST_CASE("learning-rate schedules", "[training]") {
  TrainConfig c;
  c.lr = 1e-3;
  c.warmup_steps = 4;
  c.min_lr = 1e-6;
  SECTION("inverse_sqrt (Noam) with linear warmup") {
    c.lr_schedule = "inverse_sqrt";
    LrSchedule s(c);
    CHECK(s.lr(1) == Approx(0.25e-3));
    CHECK(s.lr(2) == Approx(0.5e-3));
    CHECK(s.lr(4) == Approx(1e-3));
    CHECK(s.lr(16) == Approx(0.5e-3));
    CHECK(s.lr(400) == Approx(1e-4));
    c.min_lr = 2e-4;
    CHECK(LrSchedule(c).lr(400) == Approx(2e-4));  // floored after warmup
    CHECK(LrSchedule(c).lr(1) == Approx(0.25e-3));
  }
  SECTION("constant with warmup") {
    c.lr_schedule = "constant";
    LrSchedule s(c);
    CHECK(s.lr(1) == Approx(0.25e-3));
    CHECK(s.lr(4) == Approx(1e-3));
    CHECK(s.lr(100000) == Approx(1e-3));
    CHECK_FALSE(s.on_validation(false));
  }
  SECTION("plateau decays after patience stalled validations, floored at min_lr") {
    c.lr_schedule = "plateau";
    c.warmup_steps = 0;
    c.plateau_factor = 0.5;
    c.plateau_patience = 2;
    c.min_lr = 3e-4;
    LrSchedule s(c);
    CHECK(s.lr(10) == Approx(1e-3));
    CHECK_FALSE(s.on_validation(false));
    CHECK(s.on_validation(false));
    CHECK(s.lr(10) == Approx(5e-4));
    CHECK_FALSE(s.on_validation(true));   // an improvement resets the counter
    CHECK_FALSE(s.on_validation(false));
    CHECK(s.on_validation(false));
    CHECK(s.lr(10) == Approx(3e-4));       // 2.5e-4 floored
    LrSchedule restored(c);
    restored.restore(s.scale(), s.stalled());
    CHECK(restored.lr(10) == Approx(s.lr(10)));
  }
  SECTION("linear decays to min_lr over the training budget after the warmup ramp") {
    c.lr_schedule = "linear";
    c.max_steps = 100;
    LrSchedule s(c);
    CHECK(s.budgeted());
    CHECK(s.lr(1, 0.0) == Approx(0.25e-3));   // warmup ramp
    CHECK(s.lr(4, 0.03) == Approx(0.97e-3));  // the decay line is below the ramp's end
    CHECK(s.lr(50, 0.5) == Approx(0.5e-3));
    CHECK(s.lr(90, 0.9) == Approx(1e-4));
    CHECK(s.lr(100, 1.0) == Approx(1e-6));    // floored at min_lr
    CHECK(s.lr(100, 7.0) == Approx(1e-6));    // progress is clamped
    c.warmup_steps = 0;
    CHECK(LrSchedule(c).lr(1, 0.0) == Approx(1e-3));
  }
  SECTION("cosine decays along half a cosine") {
    c.lr_schedule = "cosine";
    c.max_minutes = 12;
    c.warmup_steps = 0;
    LrSchedule s(c);
    CHECK(s.lr(10, 0.0) == Approx(1e-3));
    CHECK(s.lr(10, 0.5) == Approx(0.5e-3));
    CHECK(s.lr(10, 0.25) == Approx(0.5e-3 * (1 + std::cos(3.14159265358979323846 / 4))));
    CHECK(s.lr(10, 1.0) == Approx(1e-6));
  }
  SECTION("the budget-aware schedules need a budget") {
    c.lr_schedule = "linear";
    CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("max_steps"));
    c.max_epochs = 3;
    CHECK_NOTHROW(LrSchedule(c));
    CHECK_FALSE(LrSchedule(c).on_validation(false));
  }
  SECTION("bad values") {
    c.lr_schedule = "noam";
    CHECK_THROWS_AS(LrSchedule(c), std::invalid_argument);
  }
}
