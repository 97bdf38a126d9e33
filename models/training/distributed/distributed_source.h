#pragma once
// The training batches of one rank in data-parallel training: wraps the (identically seeded) batch
// source every rank builds, and shows rank r of `world` only every world-th batch of each epoch,
// starting at r, without the remainder (see shard() in distributed.h): disjoint shares, the same
// number of updates on every rank.
#include <stdexcept>
#include <string>

#include "models/training/distributed/distributed.h"
#include "models/training/trainer.h"

namespace seqzoo {

class ShardedBatchSource : public BatchSource {
 public:
  // `inner` must outlive this source. Throws std::invalid_argument unless 0 <= rank < world.
  ShardedBatchSource(BatchSource& inner, int rank, int world) : inner_(inner), rank_(rank), world_(world) {
    shard_index(0, rank, world);  // validates
  }
  // The rank's batches of the epoch; 0 when the epoch has fewer batches than ranks.
  int64_t begin_epoch(int64_t epoch) override { return shard_count(inner_.begin_epoch(epoch), world_); }
  Batch batch(int64_t index) override { return inner_.batch(shard_index(index, rank_, world_)); }

 private:
  BatchSource& inner_;
  int rank_, world_;
};

}  // namespace seqzoo
