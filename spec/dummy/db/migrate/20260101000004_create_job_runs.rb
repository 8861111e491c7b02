# frozen_string_literal: true

# The specs' own table: one row per execution of EchoJob / FlakyJob, whichever process ran it.
class CreateJobRuns < ActiveRecord::Migration[7.1]
  def change
    create_table :job_runs do |t|
      t.string :job, null: false
      t.string :tag, null: false
      t.integer :attempt, null: false
      t.string :outcome, null: false
      t.string :backend
      t.integer :pid
      t.timestamps
    end
    add_index :job_runs, :tag
  end
end
