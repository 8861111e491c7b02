# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # Claude Code CLI processes started ahead of their prompt: spawned with one option set and initialized (the
    # control protocol's initialize answered), each waiting for its first user message. A query takes one and a
    # replacement starts in the background, so the CLI's start-up (~2 s of wall and CPU time) is paid before the prompt
    # instead of after it. The CPU is the same: a pool moves the wait, not the work.
    #
    #   RubyLLM::AgentSDK.configure { |c| c.pool(:support, size: 2, model: "claude-sonnet-4-5", allowed_tools: %w[Read]) }
    #   RubyLLM::AgentSDK.query("Where is order 42?", pool: :support) { |message| … }
    #
    # - One process, one caller: a CLI handed out is never handed out again (the query stops it when it ends).
    # - A query that finds none ready starts its own CLI (a cold query); it never waits for another caller's.
    # - The replacement starts `refill_delay` seconds (1.0) after the checkout: a CLI's start takes ~2 s of CPU, and
    #   started at once it would compete with the query it replaces for the first, latency-bound part of its run.
    # - Lazy and fork-safe: nothing starts until the first query (or #prewarm) in the process that uses the pool. A
    #   pool inherited over fork (Puma, Sidekiq, Solid Queue workers) notices the new pid, forgets the parent's
    #   processes (it only drops its copies of their pipes: it never signals or reaps them) and starts its own.
    # - Bounded: at most `size` ready or starting; a ready CLI idle longer than `max_idle` seconds is stopped and
    #   replaced at the next query, not before (an idle app does not keep starting CLIs); one whose RSS exceeds
    #   `max_rss_mb` (from /proc/<pid>/status), or that has exited, is stopped and replaced at once. Checked every
    #   `check_interval` seconds and again before a CLI is handed out.
    # - Every process is reaped (ChildProcess); #shutdown stops them all, and runs at exit.
    #
    # Spawn-time and per-checkout options. What the CLI was started and initialized with (its argv, env, the
    # initialize request) cannot change: a pooled query must have the pool's values of those (ArgumentError
    # otherwise; the Rails job runs such a session without the pool). What only this Ruby process uses to answer
    # the CLI's requests (the Ruby tools' runner, hook and permission callbacks, the run's deadlines) is bound to
    # the checked-out CLI for its one caller (CLI#bind): PER_CHECKOUT any value, BOUND_CALLABLES their callables.
    # A CLI is never handed out twice, so nothing bound for one caller reaches another. resume:/session_id:/
    # continue_conversation:/fork_session: (a conversation of its own) are never prewarmed.
    class Pool
      # Options that name one conversation: never prewarmed, never shared.
      UNPREWARMABLE = %i[resume session_id continue_conversation fork_session].freeze
      # Any value per checkout: the Ruby tools' context and execution store (tool_executions:, the Rails job's
      # per-session store), their timeout and result cap, the run's deadline, control/close timeouts, strict parsing.
      PER_CHECKOUT = %i[context tool_executions tool_timeout tool_result_max_bytes timeout control_timeout close_timeout
                        strict_parsing].freeze
      # The callables per checkout, their shape at spawn: can_use_tool: set or not (--permission-prompt-tool stdio);
      # hooks: the same events, matchers and timeouts in the same order (the initialize request), any handlers.
      BOUND_CALLABLES = %i[can_use_tool hooks].freeze
      RESTART_BACKOFF = [0.5, 1, 2, 5, 10, 30].freeze # seconds to wait after 1, 2, … failed starts in a row
      SHUTDOWN_JOIN = 2 # seconds the background thread gets to finish what it does before it is killed
      @all = []
      @all_mutex = Mutex.new

      class << self
        # A pool by name (from config.agent_sdk.pool), or the Pool itself.
        def fetch(pool)
          return pool if pool.is_a?(Pool)

          AgentSDK.config.pools.fetch(pool.to_sym) do
            defined = AgentSDK.config.pools.keys
            raise ArgumentError, "no pool named #{pool.inspect} (defined: #{defined.empty? ? "none" : defined.map(&:inspect).join(", ")}); " \
                                 "define it with config.pool(#{pool.inspect}, size: …, **options)"
          end
        end

        # What of an Options a started CLI depends on: all but PER_CHECKOUT, with BOUND_CALLABLES by their shape.
        def spawn_signature(options)
          values = options.to_h.reject { |key, _| PER_CHECKOUT.include?(key) }
          values[:can_use_tool] = !values[:can_use_tool].nil?
          values[:hooks] = values[:hooks].map { |event, matchers| [event, matchers.map { |m| [m.matcher, m.timeout] }] }
          values
        end

        def register(pool)
          @all_mutex.synchronize { @all << pool }
        end

        def unregister(pool)
          @all_mutex.synchronize { @all.delete(pool) }
        end

        # at_exit: every pool's processes (in a forked copy: forgets the parent's, stops nothing of theirs).
        def shutdown_all
          @all_mutex.synchronize { @all.dup }.each(&:shutdown)
        end
      end

      attr_reader :name, :size, :max_idle, :max_rss_mb, :check_interval, :refill_delay

      def initialize(name = nil, size: 2, max_idle: 600, max_rss_mb: nil, check_interval: 5, refill_delay: 1.0, **options)
        @name = name&.to_sym
        @size = positive(:size, size, Integer)
        @refill_delay = refill_delay.is_a?(Numeric) && refill_delay.zero? ? 0 : positive(:refill_delay, refill_delay, Numeric)
        @max_idle = max_idle && positive(:max_idle, max_idle, Numeric)
        @max_rss_mb = max_rss_mb && positive(:max_rss_mb, max_rss_mb, Numeric)
        @check_interval = positive(:check_interval, check_interval, Numeric)
        shared = UNPREWARMABLE & options.keys
        raise ArgumentError, "#{shared.map { |k| "#{k}:" }.join(", ")} cannot be a pool's option: every CLI of the pool would " \
                             "continue one conversation" unless shared.empty?
        raise ArgumentError, "a pool runs the CLI: transport: :api has no process to prewarm" if options[:transport]&.to_sym == :api

        @given = options.merge(transport: :cli)
        build_options # ArgumentError now, for a bad option, not at the first query
        @options = nil
        self.class.register(self)
      end

      # The pool's query options: config.agent_sdk's defaults as they are at the first use, then the pool's own.
      def options
        @options ||= build_options
      end

      # Options for a query through this pool: the pool's, with the given ones over them. Given spawn-time values must
      # be the pool's (ArgumentError); per-checkout ones (PER_CHECKOUT, BOUND_CALLABLES' callables) are the query's.
      def options_for(given)
        given = given.reject { |_, value| value.nil? }
        wrong = UNPREWARMABLE & given.keys
        unless wrong.empty?
          raise ArgumentError, "#{wrong.map { |k| "#{k}:" }.join(", ")} cannot be prewarmed (a pooled CLI starts before its " \
                               "query is known): run this query without pool:"
        end
        candidate = options.with(**given)
        differ = differences(candidate)
        unless differ.empty?
          raise ArgumentError, "a query through pool #{label} takes the pool's spawn-time options; " \
                               "#{differ.map { |k| "#{k}:" }.join(", ")} differ#{"s" if differ.size == 1} " \
                               "(define another pool, or run this query without pool:)"
        end
        candidate.to_h == options.to_h ? options : candidate
      end

      # The keys whose spawn-time values in these Options are not the pool's: empty when a query with them can run
      # on this pool's CLIs (its per-checkout values bound at #checkout).
      def differences(other)
        mine = self.class.spawn_signature(options)
        theirs = self.class.spawn_signature(other)
        (mine.keys | theirs.keys).reject { |key| mine[key] == theirs[key] }
      end

      def compatible?(other) = differences(other).empty?

      # A started, initialized CLI for one query, now the caller's (it must close it; Query and Client do). When none is
      # ready: a new, unstarted CLI that the caller's query starts (cold). Either way a replacement starts in the background.
      # bound: the caller's Options (#options_for, or any with no #differences): their per-checkout values are bound to
      # this CLI (CLI#bind), for this caller only.
      def checkout(bound = nil)
        if bound && !(differ = differences(bound)).empty?
          raise ArgumentError, "pool #{label}: #{differ.map { |k| "#{k}:" }.join(", ")} differ from the pool's " \
                               "spawn-time options"
        end

        state = current
        cli = nil
        state.mutex.synchronize do
          state.dormant = false
          while (entry = state.ready.shift)
            break cli = entry.cli if usable?(state, entry)

            state.discard << entry.cli
          end
          state.misses += 1 unless cli
          state.refill_at = monotonic + refill_delay if state.refill_at <= monotonic
          state.cv.broadcast
        end
        ensure_worker(state)
        cli ? cli.bind(bound || options) : CLI.new(bound || options)
      end

      # Starts filling the pool now (in the background) instead of at the first query.
      def prewarm
        state = current
        state.mutex.synchronize do
          state.dormant = false
          state.refill_at = 0.0
          state.cv.broadcast
        end
        ensure_worker(state)
        self
      end

      # How many CLIs are ready (started and initialized, not handed out) in this process.
      def ready
        state = current
        state.mutex.synchronize { state.ready.size }
      end

      # The pids of the ready CLIs of this process (for monitoring: their RSS, say).
      def ready_pids
        state = current
        state.mutex.synchronize { state.ready.map { |entry| entry.cli.pid } }
      end

      # Waits until `count` CLIs are ready (prewarming if needed); false when `timeout` seconds pass first.
      def wait_ready(count = size, timeout: 60)
        prewarm
        state = current
        deadline = monotonic + timeout
        state.mutex.synchronize do
          until state.ready.size >= count
            left = deadline - monotonic
            return false if left <= 0

            state.cv.wait(state.mutex, left)
          end
        end
        true
      end

      # Counters of this process: { ready:, starting:, started:, misses:, failed_starts:, replaced: {exited:, idle:, rss:} }.
      def stats
        state = current
        state.mutex.synchronize do
          { ready: state.ready.size, starting: state.starting.size, started: state.started, misses: state.misses,
            failed_starts: state.failures_total, replaced: state.replaced.dup }
        end
      end

      # Stops every ready and starting CLI of this process (those handed out belong to their queries) and the
      # background thread. The pool starts again at its next use. In a forked copy it stops nothing of the parent's.
      def shutdown
        state = @state
        return self unless state
        return forget(state) unless state.pid == Process.pid

        worker, starting = state.mutex.synchronize do
          state.closed = true
          state.cv.broadcast
          [state.worker, state.starting.dup]
        end
        worker.kill unless worker.nil? || worker.join(SHUTDOWN_JOIN)
        clis = starting + state.mutex.synchronize do
          (state.ready.map(&:cli) + state.discard).tap do
            state.ready.clear
            state.discard.clear
          end
        end
        clis.each { |cli| stop(cli) }
        @state = nil if @state.equal?(state)
        self
      end

      def inspect
        "#<#{self.class.name} #{label} size=#{size} max_idle=#{max_idle.inspect} max_rss_mb=#{max_rss_mb.inspect}>"
      end

      private

      Entry = Struct.new(:cli, :ready_at)
      State = Struct.new(:pid, :mutex, :cv, :ready, :discard, :starting, :worker, :closed, :dormant, :failures,
                         :next_start_at, :refill_at, :failures_total, :started, :misses, :replaced, keyword_init: true)

      def label = name ? name.inspect : "(unnamed)"

      def build_options = Options.build(**@given)

      def positive(key, value, type)
        return value if value.is_a?(type) && value.real? && value.positive? && value.finite?

        raise ArgumentError, "invalid value for #{key}: #{value.inspect} (expected a positive #{type})"
      end

      # This process's state: created at the first use here, again after a fork (the parent's is forgotten).
      def current
        state = @state
        return state if state && state.pid == Process.pid

        forget(state) if state
        @state = State.new(pid: Process.pid, mutex: Mutex.new, cv: ConditionVariable.new, ready: [], discard: [],
                           starting: [], closed: false, dormant: false, failures: 0, next_start_at: 0.0, refill_at: 0.0,
                           failures_total: 0, started: 0,
                           misses: 0, replaced: { exited: 0, idle: 0, rss: 0 })
      end

      # A forked copy's view of the parent's state: drop the copies of their pipes, nothing else (the parent owns them).
      def forget(state)
        # CLI#close in a forked copy only closes the pipes; a CLI the parent was starting has none of its threads here
        (state.ready.map(&:cli) + state.starting + state.discard).each(&:close)
        @state = nil if @state.equal?(state)
        self
      end

      def ensure_worker(state)
        state.mutex.synchronize do
          return if state.worker&.alive?

          state.closed = false
          state.worker = Thread.new { work(state) }
          state.worker.name = "agent_sdk pool #{label}" if state.worker.respond_to?(:name=)
          state.worker.report_on_exception = false
        end
      end

      # The background thread: stops what is to be stopped, checks the ready CLIs, starts one CLI at a time while fewer
      # than `size` are ready, and otherwise sleeps until a checkout or check_interval.
      def work(state)
        until state.closed
          stop_discarded(state)
          check(state)
          if (wait = start_wait(state))
            state.mutex.synchronize { state.cv.wait(state.mutex, wait) unless state.closed || !state.discard.empty? }
          else
            start_one(state)
          end
        end
      rescue StandardError => e
        AgentSDK.logger.error(Redaction.text("agent_sdk: pool #{label} stopped: #{e.class}: #{e.message}"))
      end

      # nil: start one now; else how long to sleep (full, dormant, or backing off after failed starts).
      def start_wait(state)
        state.mutex.synchronize do
          return check_interval if state.dormant || state.ready.size + state.starting.size >= size

          left = [state.next_start_at, state.refill_at].max - monotonic
          left.positive? ? left : nil
        end
      end

      def start_one(state)
        cli = CLI.new(options)
        state.mutex.synchronize do
          return if state.closed # (shutdown has taken its list of starting CLIs)

          state.starting << cli
        end
        begin
          cli.connect
        rescue StandardError => e
          state.mutex.synchronize do
            state.failures += 1
            state.failures_total += 1
            state.next_start_at = monotonic + RESTART_BACKOFF[[state.failures, RESTART_BACKOFF.size].min - 1]
          end
          AgentSDK.logger.warn(Redaction.text("agent_sdk: pool #{label} could not start a CLI: #{e.class}: #{e.message}"))
          return
        ensure
          state.mutex.synchronize { state.starting.delete(cli) }
        end
        keep = state.mutex.synchronize do
          next false if state.closed

          state.failures = 0
          state.started += 1
          state.ready << Entry.new(cli, monotonic)
          state.cv.broadcast
          true
        end
        stop(cli) unless keep
      end

      # The periodic check of the ready CLIs: exited or over max_rss_mb → stopped (and replaced); idle longer than
      # max_idle → stopped, and the pool waits for the next query before starting again.
      def check(state)
        now = monotonic
        state.mutex.synchronize do
          state.ready.reject! do |entry|
            reason = unusable_reason(entry, now)
            next false unless reason

            state.replaced[reason] += 1
            state.dormant = true if reason == :idle
            state.discard << entry.cli
          end
        end
        stop_discarded(state)
      end

      def usable?(state, entry)
        reason = unusable_reason(entry, monotonic)
        state.replaced[reason] += 1 if reason
        reason.nil?
      end

      def unusable_reason(entry, now)
        return :exited unless entry.cli.alive?
        return :idle if max_idle && now - entry.ready_at > max_idle
        return :rss if max_rss_mb && (rss = rss_kb(entry.cli.pid)) && rss > max_rss_mb * 1024

        nil
      end

      def stop_discarded(state)
        clis = state.mutex.synchronize { state.discard.slice!(0..) }
        clis.each { |cli| stop(cli) }
      end

      def stop(cli)
        cli.close
      rescue StandardError => e
        AgentSDK.logger.warn(Redaction.text("agent_sdk: pool #{label}: stopping a CLI raised #{e.class}: #{e.message}"))
      end

      # Resident set size in kB (Linux /proc), nil elsewhere or once gone.
      def rss_kb(pid)
        File.read("/proc/#{pid}/status")[/^VmRSS:\s+(\d+)/, 1]&.to_i
      rescue SystemCallError
        nil
      end

      def monotonic = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    end

    at_exit { Pool.shutdown_all }
  end
end
