# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # A spawned child with three pipes. Spawned from an argv (never a shell) in its own process group, so stopping
    # it also stops whatever it started; always reaped. Live children are stopped when the Ruby process exits.
    #
    # Ownership: a forked copy of the Ruby process inherits these objects (and the at_exit hook, and the finalizers
    # that stop them) but not the process: only the process that spawned the child ever signals, waits on or talks to
    # it. Anywhere else #stop only closes the copies of the pipes (#write raises).
    #
    # The process group: a waiter thread reaps the child the moment it exits and at once TERMs whatever is left of its
    # group (background shells, MCP servers), then KILLs what still runs GROUP_GRACE later. Right after the reap the
    # group's ID is still ours — a process group ID is not reused while any member lives — and once the group has been
    # seen empty it is never signalled again (pid_max can be 32768: a freed ID comes round again soon).
    class ChildProcess
      STDERR_TAIL_BYTES = 64 * 1024
      GROUP_GRACE = 1.0 # seconds between TERM and KILL for what the child left in its group
      GROUP_POLL = 0.02
      @live = {}
      @live_mutex = Mutex.new

      class << self
        def register(child)
          @live_mutex.synchronize { @live[child.object_id] = child }
        end

        def unregister(child)
          @live_mutex.synchronize { @live.delete(child.object_id) }
        end

        # at_exit: stops this process's children; in a forked copy, only closes the inherited pipes.
        def stop_all
          @live_mutex.synchronize { @live.values }.each { |child| child.stop(grace: 0.5) }
        end
      end

      attr_reader :pid, :stdin, :stdout, :owner_pid

      # redact: strings (API keys) replaced by [REDACTED] in whatever of stderr is kept or handed to on_stderr.
      def initialize(argv, env: {}, chdir: nil, on_stderr: nil, redact: [])
        @owner_pid = Process.pid
        @on_stderr = on_stderr
        @redact = redact.reject { |s| s.to_s.empty? }
        @stderr_tail = +""
        @stderr_truncated = false
        @stderr_mutex = Mutex.new
        in_r, @stdin = IO.pipe
        @stdout, out_w = IO.pipe
        @stderr, err_w = IO.pipe
        @exit_reader, exit_w = IO.pipe
        spawn_opts = { in: in_r, out: out_w, err: err_w, pgroup: true, close_others: true }
        spawn_opts[:chdir] = chdir if chdir
        @pid = Process.spawn(env, *argv, **spawn_opts)
        @waiter = Thread.new { reap(exit_w) }
        @waiter.report_on_exception = false
        [in_r, out_w, err_w].each(&:close)
        @stdin.sync = true
        @stdout.binmode
        @stderr_thread = Thread.new { drain_stderr }
        @stderr_thread.report_on_exception = false
        self.class.register(self)
      rescue SystemCallError => e
        [in_r, out_w, err_w, @stdin, @stdout, @stderr, @exit_reader, exit_w].each { |io| io&.close unless io&.closed? }
        raise CLIConnectionError, "could not start #{argv.first}: #{e.message}"
      end

      # True in the process that spawned the child; false in a forked copy of it.
      def owned? = Process.pid == @owner_pid

      # Readable (EOF) once the child has exited and been reaped: a reader waits on it beside stdout, so a grandchild
      # that holds stdout open cannot keep it waiting for a child that is gone.
      def exit_io
        check_owner!
        @exit_reader
      end

      def exited? = owned? && !@waiter.alive?

      # Process::Status once exited (waits up to timeout seconds; nil when still running, or reaped by someone else).
      def wait(timeout = nil)
        check_owner!
        @waiter.join(timeout)&.value
      end

      def stderr_output
        @stderr_thread.join(1) if exited?
        tail = @stderr_mutex.synchronize { @stderr_tail.dup }
        if @stderr_truncated && (nl = tail.b.index("\n")) # the cut first line could hold the end of a key
          tail = tail.byteslice(nl + 1..)
        end
        redact(tail.force_encoding(Encoding::UTF_8).scrub)
      end

      def write(data)
        check_owner!
        @stdin.write(data)
      rescue IOError, SystemCallError => e
        raise CLIConnectionError, "could not write to the CLI: #{e.message}"
      end

      def close_stdin
        @stdin.close unless @stdin.closed?
      rescue IOError
        nil
      end

      # Close stdin → wait `grace` → TERM the group → wait → KILL. Always reaps; what the child left in its group is
      # stopped too (see the class comment). Returns the Process::Status. In a forked copy: closes the pipes, nil.
      def stop(grace: 5.0, term_grace: 2.0)
        return release unless owned?

        close_stdin
        unless @waiter.join(grace)
          signal("TERM")
          signal("KILL") unless @waiter.join(term_grace)
        end
        status = @waiter.value
        finish
        status
      end

      # Non-blocking stop, for finalizers that must not wait.
      def stop_async
        return release unless owned?
        return if @finished

        close_stdin
        Thread.new { stop(grace: 1.0) }
      rescue ThreadError # the interpreter is shutting down: no waiting, no reaping left to do
        signal("KILL")
      end

      private

      def check_owner!
        return if owned?

        raise CLIConnectionError, "this CLI process belongs to process #{@owner_pid}; this is a forked copy " \
                                  "(start a new query or Client here)"
      end

      # In a forked copy: drop this process's copies of the pipes (so the owner's CLI sees EOF on stdin when the owner
      # closes it), and nothing else. The threads that served them did not survive the fork.
      def release
        [@stdin, @stdout, @stderr, @exit_reader].each { |io| io.close unless io.closed? }
        nil
      rescue IOError
        nil
      end

      # Runs in @waiter: the only place the child is reaped. Its value is the Process::Status.
      def reap(exit_w)
        status = Process.wait2(@pid)[1]
        exit_w.close
        stop_group
        status
      rescue Errno::ECHILD # reaped by someone else (Process.wait(-1) in the app): the group's fate is unknown, leave it
        exit_w.close unless exit_w.closed?
        nil
      end

      # The child has just been reaped: TERM what is left of its group, KILL it GROUP_GRACE later if it still runs.
      def stop_group
        return unless group_signal(0)

        group_signal("TERM")
        deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + GROUP_GRACE
        while group_signal(0)
          return group_signal("KILL") if Process.clock_gettime(Process::CLOCK_MONOTONIC) >= deadline

          sleep GROUP_POLL
        end
      end

      # True when the group still had a member to signal.
      def group_signal(name)
        Process.kill(name, -@pid)
        true
      rescue Errno::ESRCH, Errno::EPERM
        false
      end

      # Only while the child is unreaped (so its pid and group are still ours).
      def signal(name)
        return if @waiter.join(0)

        Process.kill(name, -@pid) # the whole group: the CLI and whatever it started
      rescue Errno::ESRCH, Errno::EPERM
        begin
          Process.kill(name, @pid) # the child left its group
        rescue Errno::ESRCH, Errno::EPERM
          nil
        end
      end

      def finish
        @finished = true
        [@stdout, @stderr, @exit_reader].each { |io| io.close unless io.closed? }
        @stderr_thread.join(1)
        self.class.unregister(self)
      rescue IOError
        nil
      end

      def redact(text)
        @redact.reduce(text) { |acc, secret| acc.gsub(secret, "[REDACTED]") }
      end

      def drain_stderr
        buffer = +""
        while (chunk = @stderr.readpartial(16_384))
          @stderr_mutex.synchronize do
            @stderr_tail << chunk
            if @stderr_tail.bytesize > STDERR_TAIL_BYTES
              @stderr_tail = @stderr_tail.byteslice(-STDERR_TAIL_BYTES, STDERR_TAIL_BYTES)
              @stderr_truncated = true
            end
          end
          next unless @on_stderr

          buffer << chunk
          while (nl = buffer.index("\n"))
            line = buffer.slice!(0, nl + 1).chomp
            call_stderr_callback(line)
          end
          buffer = buffer.byteslice(-STDERR_TAIL_BYTES, STDERR_TAIL_BYTES) if buffer.bytesize > STDERR_TAIL_BYTES
        end
      rescue EOFError, IOError
        call_stderr_callback(buffer) if @on_stderr && !buffer.empty?
      end

      def call_stderr_callback(line)
        @on_stderr.call(redact(line.force_encoding(Encoding::UTF_8).scrub))
      rescue StandardError => e
        Hooks.logger.warn(Redaction.text("stderr callback raised #{e.class}: #{e.message}"))
      end
    end

    at_exit { ChildProcess.stop_all }
  end
end
