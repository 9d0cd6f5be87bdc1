#include "actors/io/completion_board.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include "protocol/assert.hpp"

namespace minivault {

completion_board::completion_board(std::size_t lanes) {
  for (std::size_t i = 0; i < lanes; ++i) {
    auto l = std::make_unique<lane>();
    l->efd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    KV_ASSERT(l->efd >= 0);
    lanes_.push_back(std::move(l));
  }
}

completion_board::~completion_board() {
  for (auto& l : lanes_)
    ::close(l->efd);
}

void completion_board::post(std::uint32_t origin, std::uint64_t ticket, errc result,
                            std::vector<read_result> reads, std::string detail, bool wake) {
  KV_ASSERT(origin < lanes_.size());
  lane& l = *lanes_[origin];
  {
    lock_guard guard(l.mutex);
    l.items.push_back({ticket, result, std::move(reads), std::move(detail)});
  }
  if (!wake) return;
  std::uint64_t one = 1;
  (void)!::write(l.efd, &one, sizeof(one));
}

void completion_board::take(std::uint32_t origin, std::vector<completion>& out, bool woken) {
  lane& l = *lanes_[origin];
  std::uint64_t counter = 0;
  if (woken) (void)!::read(l.efd, &counter, sizeof(counter));
  lock_guard guard(l.mutex);
  out.insert(out.end(), std::make_move_iterator(l.items.begin()),
             std::make_move_iterator(l.items.end()));
  l.items.clear();
}

int completion_board::event_fd(std::uint32_t origin) const noexcept {
  return lanes_[origin]->efd;
}

} // namespace minivault
