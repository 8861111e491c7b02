# frozen_string_literal: true

module RubyLLM
  module AgentSDK
    # A spawned child with three pipes. Spawned from an argv (never a shell) in its own process group, so stopping
    # it also stops whatever it started; always reaped. Live children are stopped when the Ruby process exits.
    class ChildProcess
      STDERR_TAIL_BYTES = 64 * 1024
      @live = {}
      @live_mutex = Mutex.new

      class << self
        def register(child)
          @live_mutex.synchronize { @live[child.object_id] = child }
        end

        def unregister(child)
          @live_mutex.synchronize { @live.delete(child.object_id) }
        end

        def stop_all
          @live_mutex.synchronize { @live.values }.each { |child| child.stop(grace: 0.5) }
        end

        # A finalizer that needs nothing but the child (never the object it is attached to).
        def finalizer(child)
          proc { child.stop_async }
        end
      end

      attr_reader :pid, :stdin, :stdout

      def initialize(argv, env: {}, chdir: nil, on_stderr: nil)
        @on_stderr = on_stderr
        @stderr_tail = +""
        @stderr_mutex = Mutex.new
        in_r, @stdin = IO.pipe
        @stdout, out_w = IO.pipe
        @stderr, err_w = IO.pipe
        spawn_opts = { in: in_r, out: out_w, err: err_w, pgroup: true, close_others: true }
        spawn_opts[:chdir] = chdir if chdir
        @pid = Process.spawn(env, *argv, **spawn_opts)
        @waiter = Process.detach(@pid)
        [in_r, out_w, err_w].each(&:close)
        @stdin.sync = true
        @stdout.binmode
        @stderr_thread = Thread.new { drain_stderr }
        @stderr_thread.report_on_exception = false
        self.class.register(self)
      rescue SystemCallError => e
        [in_r, out_w, err_w, @stdin, @stdout, @stderr].each { |io| io&.close unless io&.closed? }
        raise CLIConnectionError, "could not start #{argv.first}: #{e.message}"
      end

      def alive? = @waiter.alive?

      # Process::Status once exited (waits up to timeout seconds; nil when still running).
      def wait(timeout = nil)
        @waiter.join(timeout)&.value
      end

      def exit_status = wait(0)

      def stderr_output
        @stderr_thread.join(1) unless alive?
        @stderr_mutex.synchronize { @stderr_tail.dup }
      end

      def write(data)
        @stdin.write(data)
      rescue IOError, SystemCallError => e
        raise CLIConnectionError, "could not write to the CLI: #{e.message}"
      end

      def close_stdin
        @stdin.close unless @stdin.closed?
      rescue IOError
        nil
      end

      # Close stdin → wait `grace` → TERM the group → wait → KILL. Always reaps. Returns the Process::Status.
      def stop(grace: 5.0, term_grace: 2.0)
        close_stdin
        status = wait(grace) || signal_and_wait("TERM", term_grace) || signal_and_wait("KILL", nil)
        finish
        status
      end

      # Non-blocking stop, for finalizers that must not wait.
      def stop_async
        return if @finished

        close_stdin
        Thread.new { stop(grace: 1.0) }
      rescue ThreadError # the interpreter is shutting down: no waiting, no reaping left to do
        signal("KILL")
      end

      private

      def signal_and_wait(name, timeout)
        signal(name)
        wait(timeout)
      end

      def signal(name)
        Process.kill(name, -@pid) # the whole group: the CLI and whatever it started
      rescue Errno::ESRCH, Errno::EPERM
        begin
          Process.kill(name, @pid)
        rescue Errno::ESRCH
          nil
        end
      end

      def finish
        @finished = true
        [@stdout, @stderr].each { |io| io.close unless io.closed? }
        @stderr_thread.join(1)
        self.class.unregister(self)
      rescue IOError
        nil
      end

      def drain_stderr
        buffer = +""
        while (chunk = @stderr.readpartial(16_384))
          @stderr_mutex.synchronize do
            @stderr_tail << chunk
            @stderr_tail = @stderr_tail.byteslice(-STDERR_TAIL_BYTES, STDERR_TAIL_BYTES) if @stderr_tail.bytesize > STDERR_TAIL_BYTES
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
        @on_stderr.call(line.force_encoding(Encoding::UTF_8).scrub)
      rescue StandardError => e
        Hooks.logger.warn(Redaction.text("stderr callback raised #{e.class}: #{e.message}"))
      end
    end

    at_exit { ChildProcess.stop_all }
  end
end
