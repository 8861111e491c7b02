# frozen_string_literal: true

# Starts `count` workers — threads, or forked processes — that wait at one barrier and then call the block at once
# (with their index): claimers and recoverers racing for the same rows. Threads return the block's values; processes
# their exit statuses (the block's Integer, or 0 / 1 for true / false; 255 when it raised). Rows must be committed
# (:commits groups): the workers use connections of their own.
module RaceHelpers
  def race(count, processes: false, &block)
    read, write = IO.pipe
    ActiveRecord::Base.connection_handler.connection_pool_list(:all).each(&:disconnect!) if processes # none shared with a child
    workers = Array.new(count) { |i| processes ? race_process(i, read, write, &block) : race_thread(i, read, &block) }
    sleep 0.3 # let every worker reach the barrier
    write.close
    results = workers.map { |w| processes ? Process.wait2(w).last.exitstatus : w.value }
    read.close
    results
  end

  private

  def race_thread(index, read, &block)
    Thread.new do
      read.dup.read(1)
      AgentSession.connection_pool.with_connection { block.call(index) }
    end
  end

  def race_process(index, read, write, &block)
    fork do
      write.close
      read.read(1) # the barrier: the parent closes its end
      value = block.call(index)
      exit!(value.is_a?(Integer) ? value : (value ? 0 : 1))
    rescue StandardError => e
      warn("racer #{index}: #{e.class}: #{e.message}")
      exit!(255)
    end
  end
end
